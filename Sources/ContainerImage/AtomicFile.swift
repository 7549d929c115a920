import Glibc

/// Output written to a temporary file next to the destination and renamed
/// over it only when complete: a failed conversion never leaves a partial
/// initramfs where a good one is expected.
final class AtomicFileSink: ByteSink {
    let destination: String
    private let temporaryPath: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private var committed = false

    init(destination: String) throws {
        self.destination = destination
        var template = Array((destination + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw ContainerImageError.writeFailed(file: destination, reason: errnoDescription()) }
        self.descriptor = fd
        self.temporaryPath = String(cString: template)
        buffer.reserveCapacity(1 << 20)
    }

    deinit {
        if !committed {
            if descriptor >= 0 { close(descriptor) }
            unlink(temporaryPath)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    func finish() throws {
        try flush()
    }

    /// Makes the file visible under its name (mode 0644).
    func commit() throws {
        try flush()
        guard fchmod(descriptor, 0o644) == 0, fsync(descriptor) == 0 || errno == EINVAL else {
            throw ContainerImageError.writeFailed(file: destination, reason: errnoDescription())
        }
        close(descriptor)
        descriptor = -1
        guard rename(temporaryPath, destination) == 0 else {
            let reason = errnoDescription()
            unlink(temporaryPath)
            throw ContainerImageError.writeFailed(file: destination, reason: reason)
        }
        committed = true
    }

    private func flush() throws {
        var offset = 0
        try buffer.withUnsafeBytes { bytes in
            while offset < bytes.count {
                let n = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ContainerImageError.writeFailed(file: destination, reason: errnoDescription())
                }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Collects output in memory (tests).
final class MemorySink: ByteSink {
    private(set) var bytes: [UInt8] = []
    func write(_ data: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: data) }
    func finish() throws {}
}
