import CInitSystem

// Thin wrappers over libc for the /init: whole-file reads, console output,
// C string arrays. Written against the C module alone so the same code
// builds as Embedded Swift (no Glibc overlay, no Foundation).

/// Writes to the console (stderr) unbuffered, so nothing is lost or
/// duplicated across fork and power-off.
func consoleWrite(_ text: String, fd: Int32 = 2) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { if n < 0 && init_errno() == EINTR { continue }; return }
        offset += n
    }
}

func warn(_ message: String) { consoleWrite("stage0-init: \(message)\n") }

func errnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text)
}

/// A whole file, or nil if it cannot be read.
func readWholeFile(_ path: String) -> [UInt8]? {
    let fd = init_open_read(path)
    if fd < 0 { return nil }
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n < 0 { if init_errno() == EINTR { continue }; return nil }
        if n == 0 { return result }
        result.append(contentsOf: chunk[0..<n])
    }
}

func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & mode_t(S_IFMT)) == mode_t(S_IFDIR)
}

func pathExists(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0
}

/// A regular file the current user may execute.
func isExecutableFile(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & mode_t(S_IFMT)) == mode_t(S_IFREG) && access(path, X_OK) == 0
}

/// mkdir -p; returns the errno of the first failure, or 0.
func makeDirectories(_ path: String, mode: mode_t) -> Int32 {
    var prefix = ""
    for component in path.split(separator: "/") {
        prefix += "/" + component
        if mkdir(prefix, mode) != 0 {
            let code = init_errno()
            if code != EEXIST { return code }
            if !isDirectory(prefix) { return ENOTDIR }
        }
    }
    return 0
}

/// A NULL-terminated array of C strings, for execve. Never freed: it is
/// built once, right before exec.
func cStringArray(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
    let array = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: strings.count + 1)
    for (index, string) in strings.enumerated() {
        let bytes = Array(string.utf8)
        let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        for (offset, byte) in bytes.enumerated() { copy[offset] = CChar(bitPattern: byte) }
        copy[bytes.count] = 0
        array[index] = copy
    }
    array[strings.count] = nil
    return array
}
