// The one abstraction every stage of the conversion is built from: a source
// of bytes read front to back in bounded chunks. Files, decompressors and
// digest checkers all stream, so no stage ever holds a whole layer.

public protocol ByteStream: AnyObject {
    /// Fills up to `buffer.count` bytes; returns 0 only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Reads and discards `count` bytes; returns how many there were.
    /// Seekable streams override it to skip without reading.
    func skip(_ count: Int64) throws -> Int64
}

extension ByteStream {
    /// Reads exactly `buffer.count` bytes, or fewer only at the end.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    public func skip(_ count: Int64) throws -> Int64 {
        try skipByReading(count)
    }

    func skipByReading(_ count: Int64) throws -> Int64 {
        var remaining = count
        try withScratchBuffer { scratch in
            while remaining > 0 {
                let chunk = Int(min(Int64(scratch.count), remaining))
                let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: scratch[..<chunk]))
                if n == 0 { return }
                remaining -= Int64(n)
            }
        }
        return count - remaining
    }

    /// Reads to the end, discarding everything (so digests see every byte).
    func drain() throws {
        try withScratchBuffer { scratch in
            while try read(into: scratch) > 0 {}
        }
    }

    /// Reads everything; only for small metadata documents.
    func readAll(limit: Int, name: String) throws -> [UInt8] {
        var result: [UInt8] = []
        try withScratchBuffer { scratch in
            while true {
                let n = try read(into: scratch)
                if n == 0 { return }
                result.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<n]))
                if result.count > limit {
                    throw ContainerImageError.malformedMetadata(file: name, reason: "larger than \(limit) bytes")
                }
            }
        }
        return result
    }
}

let streamChunkSize = 256 * 1024

func withScratchBuffer<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: streamChunkSize, alignment: 16)
    defer { buffer.deallocate() }
    return try body(buffer)
}

/// A stream over bytes already in memory (metadata, tests).
public final class MemoryStream: ByteStream {
    private let bytes: [UInt8]
    private var position = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - position)
        if n > 0 {
            bytes.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + position, byteCount: n)
            }
            position += n
        }
        return n
    }
}

/// At most `limit` bytes of another stream: one tar member's data.
final class LimitedStream: ByteStream {
    private let base: ByteStream
    private(set) var remaining: Int64
    init(_ base: ByteStream, limit: Int64) { self.base = base; self.remaining = limit }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if remaining == 0 { return 0 }
        let chunk = Int(min(Int64(buffer.count), remaining))
        let n = try base.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<chunk]))
        remaining -= Int64(n)
        return n
    }
    func skip(_ count: Int64) throws -> Int64 {
        let skipped = try base.skip(min(count, remaining))
        remaining -= skipped
        return skipped
    }
}
