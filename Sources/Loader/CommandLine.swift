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
