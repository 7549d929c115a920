import Glibc

/// The files of an image, wherever they are kept: a directory (OCI layout)
/// or the members of a tar archive (docker-archive, OCI archive).
protocol BlobStore {
    /// What errors call the store (the archive or directory path).
    var name: String { get }
    /// Opens a file by its path inside the image, or nil if it is absent.
    func open(_ path: String) throws -> ByteStream?
}

extension BlobStore {
    func contains(_ path: String) throws -> Bool { try open(path) != nil }

    /// A small metadata file, whole.
    func readMetadata(_ path: String, limit: Int = 16 << 20) throws -> [UInt8]? {
        guard let stream = try open(path) else { return nil }
        return try stream.readAll(limit: limit, name: "\(name): \(path)")
    }

    /// The path of a blob in an OCI layout.
    func blobPath(_ digest: String) -> String {
        let parts = digest.split(separator: ":", maxSplits: 1)
        return "blobs/\(parts[0])/\(parts.count > 1 ? parts[1] : "")"
    }
}

struct DirectoryBlobStore: BlobStore {
    let root: String
    var name: String { root }

    func open(_ path: String) throws -> ByteStream? {
        let full = root + "/" + path
        var info = stat()
        guard lstat(full, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw ContainerImageError.unreadable(file: full, reason: errnoDescription())
        }
        return try FileStream(path: full)
    }
}

/// An uncompressed tar archive indexed once by its headers; members are
/// then read in place by offset, never extracted.
struct TarArchiveStore: BlobStore {
    struct Member { var offset: Int64; var size: Int64; var kind: TarEntryKind; var linkTarget: String }

    let path: String
    let members: [String: Member]
    var name: String { path }

    init(path: String) throws {
        self.path = path
        let reader = TarReader(try FileStream(path: path), name: path)
        var members: [String: Member] = [:]
        while let entry = try reader.next() {
            let key = try imagePathComponents(entry.path, file: path).joined(separator: "/")
            members[key] = Member(offset: reader.dataOffset, size: entry.size, kind: entry.kind, linkTarget: entry.linkTarget)
        }
        self.members = members
    }

    var memberNames: Dictionary<String, Member>.Keys { members.keys }

    func open(_ member: String) throws -> ByteStream? {
        var key = member
        // Follow links between members (docker-archive links layer.tar files).
        for _ in 0..<16 {
            guard let found = members[key] else { return nil }
            switch found.kind {
            case .regular:
                return try FileStream(path: path, offset: found.offset, length: found.size)
            case .symbolicLink:
                let directory = Array(key.split(separator: "/").dropLast().map(String.init))
                key = try resolveLinkComponents(found.linkTarget, relativeTo: directory, file: path, entry: key).joined(separator: "/")
            case .hardLink:
                key = try imagePathComponents(found.linkTarget, file: path).joined(separator: "/")
            default:
                throw ContainerImageError.unreadable(file: "\(path): \(member)", reason: "is not a regular file")
            }
        }
        throw ContainerImageError.unreadable(file: "\(path): \(member)", reason: "too many levels of links")
    }
}
