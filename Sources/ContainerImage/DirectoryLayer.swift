import Glibc

/// A plain directory as the one layer of an image: walked in sorted order
/// (so two walks agree on ordinals), files read in place. Hard links inside
/// the directory are kept as hard links; sockets cannot be archived and
/// are skipped.
struct DirectoryLayer: Layer {
    let root: String
    var name: String { root }

    func open() throws -> LayerReader { DirectoryLayerReader(root: root) }
}

final class DirectoryLayerReader: LayerReader {
    private let root: String
    /// Directories still to list, as paths relative to the root.
    private var pendingDirectories: [String] = [""]
    private var pendingEntries: [String] = []
    private var firstPathOfInode: [String: String] = [:]
    private var currentData: ByteStream = MemoryStream([])
    private var nextOrdinal = 0

    init(root: String) { self.root = root }

    var data: ByteStream { currentData }
    func finish() throws {}

    func next() throws -> TarEntry? {
        while true {
            if pendingEntries.isEmpty {
                guard !pendingDirectories.isEmpty else { return nil }
                let directory = pendingDirectories.removeFirst()
                let names = try list(directory)
                pendingEntries = names.map { directory.isEmpty ? $0 : directory + "/" + $0 }
                // Depth-first in sorted order: subdirectories go to the front.
                var subdirectories: [String] = []
                for path in pendingEntries where isDirectory(path) { subdirectories.append(path) }
                pendingDirectories = subdirectories + pendingDirectories
                continue
            }
            let path = pendingEntries.removeFirst()
            if let entry = try entry(for: path) {
                nextOrdinal += 1
                return entry
            }
        }
    }

    private func entry(for path: String) throws -> TarEntry? {
        let full = root + "/" + path
        var info = stat()
        guard lstat(full, &info) == 0 else { throw ContainerImageError.unreadable(file: full, reason: errnoDescription()) }
        var entry = TarEntry(path: path, kind: .regular, mode: UInt32(info.st_mode) & 0o7777, uid: info.st_uid, gid: info.st_gid,
                             size: 0, linkTarget: "", deviceMajor: 0, deviceMinor: 0, ordinal: nextOrdinal)
        currentData = MemoryStream([])
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            entry.kind = .directory
        case S_IFREG:
            let inode = "\(info.st_dev):\(info.st_ino)"
            if info.st_nlink > 1, let first = firstPathOfInode[inode] {
                entry.kind = .hardLink
                entry.linkTarget = first
            } else {
                if info.st_nlink > 1 { firstPathOfInode[inode] = path }
                entry.size = Int64(info.st_size)
                currentData = try FileStream(path: full)
            }
        case S_IFLNK:
            entry.kind = .symbolicLink
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(full, &buffer, buffer.count - 1)
            guard n >= 0 else { throw ContainerImageError.unreadable(file: full, reason: errnoDescription()) }
            entry.linkTarget = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        case S_IFCHR, S_IFBLK:
            entry.kind = (info.st_mode & S_IFMT) == S_IFCHR ? .characterDevice : .blockDevice
            // glibc's major()/minor() are macros; this is their encoding.
            let device = UInt64(info.st_rdev)
            entry.deviceMajor = UInt32(truncatingIfNeeded: ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff))
            entry.deviceMinor = UInt32(truncatingIfNeeded: (device & 0xff) | ((device >> 12) & ~0xff))
        case S_IFIFO:
            entry.kind = .fifo
        default:
            return nil // sockets
        }
        return entry
    }

    private func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(root + "/" + path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    private func list(_ directory: String) throws -> [String] {
        let full = directory.isEmpty ? root : root + "/" + directory
        guard let handle = opendir(full) else { throw ContainerImageError.unreadable(file: full, reason: errnoDescription()) }
        defer { closedir(handle) }
        var names: [String] = []
        while let item = readdir(handle) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
