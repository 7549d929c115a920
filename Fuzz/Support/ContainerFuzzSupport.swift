// Doubles shared by the ContainerImage fuzz targets, compiled into the same
// module as Sources/ContainerImage/*.swift: an in-memory sink, an in-memory
// blob store, and a reader that drains a layer the way the conversion does.

#if canImport(Glibc)
import Glibc
#endif

/// STAGE0_FUZZ_DEBUG=1 prints the error each input ends with (to check that seeds get far).
let fuzzDebug = getenv("STAGE0_FUZZ_DEBUG") != nil

func noteError(_ error: Error, _ stage: String) {
    if fuzzDebug { print("\(stage): \(error)") }
}

final class FuzzSink: ByteSink {
    var bytes: [UInt8] = []
    var finished = false
    func write(_ buffer: UnsafeRawBufferPointer) throws {
        expect(!finished, "write after finish")
        bytes.append(contentsOf: buffer)
    }
    func finish() throws { finished = true }
}

/// An image's files in memory, as a directory or an archive would hold them.
struct FuzzBlobStore: BlobStore {
    let name: String
    let files: [String: [UInt8]]
    func open(_ path: String) throws -> ByteStream? { files[path].map { MemoryStream($0) } }
}

/// Every entry of a layer and all of its data, in chunks of varying size,
/// then the end (digests are checked there). Returns the entries.
@discardableResult
func drain(_ layer: Layer) throws -> [TarEntry] {
    let reader = try layer.open()
    var entries: [TarEntry] = []
    var chunk = 1
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
    defer { buffer.deallocate() }
    while let entry = try reader.next() {
        expect(entry.size >= 0, "negative size")
        expect(entry.mode & ~0o7777 == 0, "mode has type bits")
        expect(entry.kind == .regular || entry.size == 0, "data on a header-only entry")
        expect(entry.ordinal == entries.count, "ordinal")
        var read: Int64 = 0
        while true {
            let n = try reader.data.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<chunk]))
            if n == 0 { break }
            read += Int64(n)
            chunk = chunk % 4096 + 1 + n % 7
            chunk = min(chunk, 4096)
        }
        expect(read <= entry.size, "more data than the entry's size")
        entries.append(entry)
    }
    try reader.finish()
    return entries
}

/// A file of this process's own under /dev/shm (or /tmp), for the readers that take paths.
func scratchFile(_ tag: String, contents: [UInt8]) -> String {
    let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    let path = "\(directory)/stage0-fuzz-\(tag)-\(getpid())"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0, "cannot create \(path)")
    var written = 0
    contents.withUnsafeBytes { bytes in
        while written < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
            precondition(n > 0, "cannot write \(path)")
            written += n
        }
    }
    close(fd)
    return path
}
