import CZlib
import Dispatch
import Foundation

/// gzip (RFC 1952) compressed in parallel, as pigz does: the input is cut
/// into fixed blocks, each block is deflated on its own (primed with the
/// 32 KiB of input before it, so the ratio stays that of one stream) and
/// ended on a byte boundary, and the pieces are written in order as one
/// deflate stream with the CRC-32 of the whole. Deflate is almost all of a
/// gzip initramfs's conversion time; on one core it was 90% of it.
///
/// The bytes depend only on the input and the level, never on the number
/// of workers or their timing, so the output stays reproducible. Memory is
/// bounded: at most `inFlight` blocks (input and output, 2 MiB or so each)
/// at a time, and no more than `maximumWorkers` deflating at once.
final class GzipCompressor: ByteSink {
    static let blockSize = 1 << 20
    /// RFC 1951: a match reaches back at most 32 KiB.
    static let dictionarySize = 32 << 10
    static let maximumWorkers = 8

    private let sink: ByteSink
    private let level: Int32
    private let inFlight: Int
    private let workers: DispatchSemaphore
    private let queue = DispatchQueue(label: "stage0.gzip", attributes: .concurrent)
    private var pending: [GzipBlock] = []
    private var block: [UInt8] = []
    private var dictionary: [UInt8] = []
    private var crc: UInt = 0
    private var totalSize: UInt64 = 0

    init(_ sink: ByteSink, level: Int32 = 6, workers: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        self.sink = sink
        self.level = level
        let count = min(max(1, workers), GzipCompressor.maximumWorkers)
        self.workers = DispatchSemaphore(value: count)
        // One block more than workers, so a worker never waits for the writer.
        inFlight = count + 1
        block.reserveCapacity(GzipCompressor.blockSize)
        crc = CZlib.crc32(0, nil, 0)
        // RFC 1952, 2.3: ID1 ID2, CM 8 (deflate), no flags, MTIME 0 (reproducible), XFL 0, OS 3 (Unix).
        try sink.write([0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03])
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes[...]
        while !rest.isEmpty {
            let take = min(rest.count, GzipCompressor.blockSize - block.count)
            block.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            if block.count == GzipCompressor.blockSize { try submit(last: false) }
        }
    }

    func finish() throws {
        try submit(last: true)
        while !pending.isEmpty { try writeOldest() }
        // RFC 1952, 2.3.1: CRC32, then ISIZE (the input size modulo 2^32), little-endian.
        var trailer: [UInt8] = []
        for shift in stride(from: 0, to: 32, by: 8) { trailer.append(UInt8(truncatingIfNeeded: UInt32(crc) >> UInt32(shift))) }
        for shift in stride(from: 0, to: 32, by: 8) { trailer.append(UInt8(truncatingIfNeeded: totalSize >> UInt64(shift))) }
        try sink.write(trailer)
        try sink.finish()
    }

    private func submit(last: Bool) throws {
        let job = GzipBlock(input: block, dictionary: dictionary, level: level, last: last)
        dictionary = Array(block.suffix(GzipCompressor.dictionarySize))
        totalSize &+= UInt64(block.count)
        block.removeAll(keepingCapacity: true)
        pending.append(job)
        let workers = self.workers
        queue.async {
            workers.wait()
            job.compress()
            workers.signal()
        }
        if pending.count >= inFlight { try writeOldest() }
    }

    private func writeOldest() throws {
        let job = pending.removeFirst()
        job.done.wait()
        if let reason = job.failure { throw ContainerImageError.writeFailed(file: "gzip", reason: reason) }
        crc = CZlib.crc32_combine(crc, job.crc, off_t(job.input.count))
        try sink.write(job.output)
    }
}

/// One block's raw deflate: read by the writer only after `done`.
private final class GzipBlock: @unchecked Sendable {
    let input: [UInt8]
    let dictionary: [UInt8]
    let level: Int32
    let last: Bool
    let done = DispatchSemaphore(value: 0)
    private(set) var output: [UInt8] = []
    private(set) var crc: UInt = 0
    private(set) var failure: String?

    init(input: [UInt8], dictionary: [UInt8], level: Int32, last: Bool) {
        self.input = input
        self.dictionary = dictionary
        self.level = level
        self.last = last
    }

    func compress() {
        defer { done.signal() }
        crc = input.withUnsafeBufferPointer { CZlib.crc32(CZlib.crc32(0, nil, 0), $0.baseAddress, UInt32($0.count)) }
        // zlib keeps the stream's address between calls: one fixed allocation.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        // -15: raw deflate, no zlib or gzip wrapper (the compressor writes the gzip one).
        let status = deflateInit2_(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { failure = "zlib initialisation failed (\(status))"; return }
        defer { deflateEnd(stream) }
        if !dictionary.isEmpty {
            let set = dictionary.withUnsafeBufferPointer { deflateSetDictionary(stream, $0.baseAddress, UInt32($0.count)) }
            guard set == Z_OK else { failure = "deflateSetDictionary failed (\(set))"; return }
        }
        // A full block ends with a sync flush (an empty stored block: byte-aligned, not final);
        // the last one with Z_FINISH, which marks the end of the deflate stream. deflateBound
        // plus the flush's few bytes is room for all of it; the loop is for a zlib that disagrees.
        let flush = last ? Z_FINISH : Z_SYNC_FLUSH
        output = [UInt8](repeating: 0, count: Int(deflateBound(stream, uLong(input.count))) + 16)
        var produced = 0
        input.withUnsafeBufferPointer { source in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.pointee.avail_in = UInt32(source.count)
            while true {
                if produced == output.count { output.append(contentsOf: [UInt8](repeating: 0, count: 1 << 16)) }
                var result = Z_OK
                let room = output.count - produced
                output.withUnsafeMutableBufferPointer { target in
                    stream.pointee.next_out = target.baseAddress! + produced
                    stream.pointee.avail_out = UInt32(room)
                    result = deflate(stream, flush)
                }
                let written = room - Int(stream.pointee.avail_out)
                produced += written
                if result == Z_STREAM_ERROR || (result == Z_BUF_ERROR && written == 0) {
                    failure = "deflate failed (\(result))"
                    return
                }
                let complete = last ? result == Z_STREAM_END : stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0
                if complete { return }
            }
        }
        output.removeSubrange(produced...)
    }
}
