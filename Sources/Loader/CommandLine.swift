/// The kernel command line: bytes from fw_cfg, copied where boot_params
/// points, NUL-terminated. Trailing NULs and a final newline (a file made
/// with `echo`) are not part of it.
public enum KernelCommandLine {
    /// The length of the command line within `bytes`, dropping what is not part of it.
    public static func length(of bytes: UnsafeRawBufferPointer) -> Int {
        var end = bytes.firstIndex(of: 0) ?? bytes.count
        while end > 0 && (bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D) { end -= 1 }
        return end
    }

    /// Checks a length against the kernel's cmdline_size and the firmware's buffer.
    public static func check(length: UInt64, kernelLimit: UInt64, bufferCapacity: UInt64) throws(BootError) {
        let limit = min(kernelLimit, bufferCapacity - 1)
        guard length <= limit else { throw .commandLineTooLong(length: length, limit: limit) }
    }
}

extension KernelCommandLine {
    /// Whether a parameter starting with `prefix` (e.g. "tsc_early_khz=") is
    /// among the space-separated words of the command line.
    public static func hasParameter(_ prefix: StaticString, in line: UnsafeRawBufferPointer) -> Bool {
        let wanted = UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        var wordStart = 0
        while wordStart + wanted.count <= line.count {
            var matches = true
            for index in 0..<wanted.count where line[wordStart + index] != wanted[index] { matches = false }
            if matches { return true }
            guard let space = line[wordStart...].firstIndex(where: isSpace) else { return false }
            wordStart = space + 1
        }
        return false
    }

    /// Linux's isspace() on ASCII (lib/ctype.c): what separates parameters (lib/cmdline.c, next_arg).
    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }

    /// Appends " word" to the `length` bytes at the start of `buffer`,
    /// NUL-terminated; returns the new length. The limit is checked first.
    public static func append(_ word: Message, to buffer: UnsafeMutableRawBufferPointer, length: Int,
                              kernelLimit: UInt64) throws(BootError) -> Int {
        let added = word.count + (length > 0 ? 1 : 0)
        try check(length: UInt64(length + added), kernelLimit: kernelLimit, bufferCapacity: UInt64(buffer.count))
        var end = length
        if length > 0 { buffer[end] = 0x20; end += 1 }
        word.withBytes { bytes in
            for byte in bytes { buffer[end] = byte; end += 1 }
        }
        buffer[end] = 0
        return end
    }

#if !hasFeature(Embedded)
    public static func append(_ word: String, to buffer: UnsafeMutableRawBufferPointer, length: Int,
                              kernelLimit: UInt64) throws(BootError) -> Int {
        var message = Message()
        message.append(word)
        return try append(message, to: buffer, length: length, kernelLimit: kernelLimit)
    }
#endif
}
