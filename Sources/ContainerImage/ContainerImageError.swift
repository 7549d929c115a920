// Every way a conversion can fail. Each case carries the file (or image
// member) that failed and what was wrong with it, so the message alone tells
// the user what to fix.

public enum ContainerImageError: Error, Equatable, CustomStringConvertible {
    /// The input could not be opened or read at all.
    case unreadable(file: String, reason: String)
    /// A tar archive (the image archive or a layer) is malformed.
    case malformedArchive(file: String, reason: String)
    /// A compressed stream is corrupt or truncated.
    case corruptCompressedData(file: String, reason: String)
    /// A blob the manifest names is not in the image.
    case missingBlob(file: String, digest: String)
    /// A blob's content does not hash to the digest it is named by.
    case digestMismatch(file: String, expected: String, actual: String)
    /// A manifest, index or layer uses a media type this tool cannot read.
    case unsupportedMediaType(file: String, mediaType: String)
    /// A multi-platform index has no linux/amd64 image.
    case noMatchingPlatform(file: String, available: [String])
    /// A JSON document (manifest, index, config) is malformed.
    case malformedMetadata(file: String, reason: String)
    /// A layer entry would land outside the root filesystem.
    case pathEscapesRoot(file: String, entry: String, reason: String)
    /// A layer entry conflicts with what lower entries built.
    case invalidEntry(file: String, entry: String, reason: String)
    /// Something the initramfs cannot represent (newc limits).
    case unrepresentable(entry: String, reason: String)
    /// The image reference is neither a file, a directory nor a saveable name.
    case imageNotFound(reference: String, reason: String)
    /// Writing the output failed.
    case writeFailed(file: String, reason: String)
    /// A command-line value is wrong.
    case invalidOption(option: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): return "\(file): cannot read: \(reason)"
        case let .malformedArchive(file, reason): return "\(file): malformed tar archive: \(reason)"
        case let .corruptCompressedData(file, reason): return "\(file): corrupt compressed data: \(reason)"
        case let .missingBlob(file, digest): return "\(file): missing blob \(digest)"
        case let .digestMismatch(file, expected, actual):
            return "\(file): digest mismatch: expected \(expected), content hashes to \(actual)"
        case let .unsupportedMediaType(file, mediaType): return "\(file): unsupported media type \(mediaType)"
        case let .noMatchingPlatform(file, available):
            return "\(file): no linux/amd64 image in the index (it has: \(available.isEmpty ? "none" : available.joined(separator: ", ")))"
        case let .malformedMetadata(file, reason): return "\(file): malformed image metadata: \(reason)"
        case let .pathEscapesRoot(file, entry, reason): return "\(file): entry \(entry) escapes the root filesystem: \(reason)"
        case let .invalidEntry(file, entry, reason): return "\(file): entry \(entry): \(reason)"
        case let .unrepresentable(entry, reason): return "\(entry): cannot be put in an initramfs: \(reason)"
        case let .imageNotFound(reference, reason): return "\(reference): \(reason)"
        case let .writeFailed(file, reason): return "\(file): cannot write: \(reason)"
        case let .invalidOption(option, reason): return "\(option): \(reason)"
        }
    }
}
