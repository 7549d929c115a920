import CZlib
import CZstd

/// The compressions a layer (or a rootfs tar) can use, told apart by their
/// magic bytes rather than trusted from a file name or media type.
public enum Compression: String, Sendable {
    case none, gzip, zstd

    static func detect(_ head: [UInt8]) -> Compression {
        if head.count >= 2, head[0] == 0x1f, head[1] == 0x8b { return .gzip }
        if head.count >= 4, head[0] == 0x28, head[1] == 0xb5, head[2] == 0x2f, head[3] == 0xfd { return .zstd }
        return .none
    }
}

/// Puts bytes already read back in front of a stream (used to sniff magic).
final class PrefixedStream: ByteStream {
    private var prefix: [UInt8]
    private var position = 0
    private let base: ByteStream
    init(prefix: [UInt8], base: ByteStream) { self.prefix = prefix; self.base = base }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if position < prefix.count {
            let n = min(buffer.count, prefix.count - position)
            prefix.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + position, byteCount: n) }
            position += n
            if position == prefix.count { prefix = []; position = 0 }
            return n
        }
        return try base.read(into: buffer)
    }
}

/// Wraps `stream` in the decompressor its first bytes call for.
func decompressing(_ stream: ByteStream, name: String) throws -> (ByteStream, Compression) {
    var head = [UInt8](repeating: 0, count: 4)
    let n = try head.withUnsafeMutableBytes { try stream.readFully(into: $0) }
    head.removeLast(4 - n)
    let compression = Compression.detect(head)
    let restored = PrefixedStream(prefix: head, base: stream)
    switch compression {
    case .none: return (restored, .none)
    case .gzip: return (try GzipDecompressor(restored, name: name), .gzip)
    case .zstd: return (try ZstdDecompressor(restored, name: name), .zstd)
    }
}

/// Streaming gzip inflate through zlib; concatenated members (which pigz
/// and some registries produce) are read as one stream.
final class GzipDecompressor: ByteStream {
    private let base: ByteStream
    private let name: String
    private var zstream = z_stream()
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: streamChunkSize, alignment: 16)
    private var inputEnded = false
    private var finished = false

    init(_ base: ByteStream, name: String) throws {
        self.base = base
        self.name = name
        // 15 + 32: a 32 KiB window and automatic gzip/zlib header detection.
        let status = inflateInit2_(&zstream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            input.deallocate()
            throw ContainerImageError.corruptCompressedData(file: name, reason: "zlib initialisation failed (\(status))")
        }
    }

    deinit {
        inflateEnd(&zstream)
        input.deallocate()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if finished || buffer.count == 0 { return 0 }
        zstream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        zstream.avail_out = UInt32(buffer.count)
        while zstream.avail_out == UInt32(buffer.count) {
            if zstream.avail_in == 0 && !inputEnded {
                let n = try base.read(into: input)
                if n == 0 { inputEnded = true } else {
                    zstream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    zstream.avail_in = UInt32(n)
                }
            }
            let status = inflate(&zstream, Z_NO_FLUSH)
            switch status {
            case Z_STREAM_END:
                // Another member may follow; trailing zero padding ends it.
                if zstream.avail_in == 0 && !inputEnded {
                    let n = try base.read(into: input)
                    if n == 0 { inputEnded = true } else {
                        zstream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                        zstream.avail_in = UInt32(n)
                    }
                }
                if zstream.avail_in > 0 && zstream.next_in.pointee == 0x1f {
                    inflateReset(&zstream)
                } else {
                    finished = true
                    return buffer.count - Int(zstream.avail_out)
                }
            case Z_OK:
                continue
            case Z_BUF_ERROR where inputEnded && zstream.avail_in == 0:
                throw ContainerImageError.corruptCompressedData(file: name, reason: "gzip stream is truncated")
            case Z_BUF_ERROR:
                continue
            default:
                let message = zstream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                throw ContainerImageError.corruptCompressedData(file: name, reason: "gzip: \(message)")
            }
        }
        return buffer.count - Int(zstream.avail_out)
    }
}

/// Streaming zstd decompression through libzstd (multiple frames allowed).
final class ZstdDecompressor: ByteStream {
    private let base: ByteStream
    private let name: String
    private let context: OpaquePointer
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: streamChunkSize, alignment: 16)
    private var inBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    private var inputEnded = false
    private var frameComplete = true

    init(_ base: ByteStream, name: String) throws {
        guard let context = ZSTD_createDStream() else {
            input.deallocate()
            throw ContainerImageError.corruptCompressedData(file: name, reason: "cannot create a zstd decoder")
        }
        self.base = base
        self.name = name
        self.context = context
        ZSTD_initDStream(context)
    }

    deinit {
        ZSTD_freeDStream(context)
        input.deallocate()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if buffer.count == 0 { return 0 }
        var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        while out.pos == 0 {
            if inBuffer.pos == inBuffer.size {
                if inputEnded { break }
                let n = try base.read(into: input)
                if n == 0 {
                    inputEnded = true
                    if !frameComplete {
                        throw ContainerImageError.corruptCompressedData(file: name, reason: "zstd stream is truncated")
                    }
                    break
                }
                inBuffer = ZSTD_inBuffer(src: UnsafeRawPointer(input.baseAddress), size: n, pos: 0)
            }
            let hint = ZSTD_decompressStream(context, &out, &inBuffer)
            if ZSTD_isError(hint) != 0 {
                throw ContainerImageError.corruptCompressedData(file: name, reason: "zstd: \(String(cString: ZSTD_getErrorName(hint)))")
            }
            frameComplete = hint == 0
        }
        return out.pos
    }
}
