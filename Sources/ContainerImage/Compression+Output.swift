import CZlib
import CZstd

/// Where the initramfs bytes go: a file, through an optional compressor.
protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Flushes compressor state; no writes after this.
    func finish() throws
}

extension ByteSink {
    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
}

/// Deterministic zstd (single-threaded, fixed level; the kernel's
/// decompressor handles the default window for these levels).
final class ZstdCompressor: ByteSink {
    private let sink: ByteSink
    private let context: OpaquePointer
    private let output = UnsafeMutableRawBufferPointer.allocate(byteCount: streamChunkSize, alignment: 16)

    init(_ sink: ByteSink, level: Int32 = 9) throws {
        guard let context = ZSTD_createCCtx() else {
            output.deallocate()
            throw ContainerImageError.writeFailed(file: "zstd", reason: "cannot create a zstd encoder")
        }
        self.sink = sink
        self.context = context
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
    }

    deinit {
        ZSTD_freeCCtx(context)
        output.deallocate()
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while input.pos < input.size {
            try step(&input, ZSTD_e_continue)
        }
    }

    func finish() throws {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try step(&input, ZSTD_e_end) != 0 {}
        try sink.finish()
    }

    @discardableResult
    private func step(_ input: inout ZSTD_inBuffer, _ mode: ZSTD_EndDirective) throws -> Int {
        var out = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let remaining = ZSTD_compressStream2(context, &out, &input, mode)
        if ZSTD_isError(remaining) != 0 {
            throw ContainerImageError.writeFailed(file: "zstd", reason: String(cString: ZSTD_getErrorName(remaining)))
        }
        if out.pos > 0 { try sink.write(UnsafeRawBufferPointer(rebasing: output[..<out.pos])) }
        return remaining
    }
}
