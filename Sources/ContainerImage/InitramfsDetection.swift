/// The first `count` bytes of a file after any gzip/zstd compression, to
/// tell an initramfs (cpio) from an image.
public func peekDecompressed(_ path: String, count: Int) throws -> [UInt8] {
    let (stream, _) = try decompressing(try FileStream(path: path), name: path)
    var head = [UInt8](repeating: 0, count: count)
    let n = try head.withUnsafeMutableBytes { try stream.readFully(into: $0) }
    return Array(head[..<n])
}

/// The sha256 (hex) of a whole file, streamed.
public func fileDigest(_ path: String) throws -> String {
    let stream = try FileStream(path: path)
    var hasher = SHA256()
    try withScratchBuffer { buffer in
        while true {
            let n = try stream.read(into: buffer)
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
    }
    return hasher.finalizeHex()
}
