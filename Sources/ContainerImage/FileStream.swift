import Glibc

/// A byte range of a file on disk, read with pread so several streams can
/// share one file (the members of an image archive).
public final class FileStream: ByteStream {
    public let path: String
    private let descriptor: Int32
    private var offset: Int64
    private var remaining: Int64

    /// Opens the whole file, or `length` bytes from `offset`.
    public init(path: String, offset: Int64 = 0, length: Int64? = nil) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ContainerImageError.unreadable(file: path, reason: errnoDescription()) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = errnoDescription()
            close(fd)
            throw ContainerImageError.unreadable(file: path, reason: reason)
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw ContainerImageError.unreadable(file: path, reason: "is a directory")
        }
        self.path = path
        self.descriptor = fd
        self.offset = offset
        self.remaining = length ?? max(0, Int64(info.st_size) - offset)
    }

    deinit { close(descriptor) }

    public func skip(_ count: Int64) throws -> Int64 {
        let skipped = min(count, remaining)
        offset += skipped
        remaining -= skipped
        return skipped
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if remaining == 0 || buffer.count == 0 { return 0 }
        let want = Int(min(Int64(buffer.count), remaining))
        while true {
            let n = pread(descriptor, buffer.baseAddress, want, off_t(offset))
            if n < 0 {
                if errno == EINTR { continue }
                throw ContainerImageError.unreadable(file: path, reason: errnoDescription())
            }
            if n == 0 {
                throw ContainerImageError.unreadable(file: path, reason: "file is shorter than expected (truncated?)")
            }
            offset += Int64(n)
            remaining -= Int64(n)
            return n
        }
    }
}

func errnoDescription(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
