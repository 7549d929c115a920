// A layer, seen as what the conversion needs: a sequence of tar-style
// entries with data, readable again from the start as often as needed.

public protocol LayerReader: AnyObject {
    /// The next entry, or nil at the end of the layer.
    func next() throws -> TarEntry?
    /// The data of the entry last returned by `next()`.
    var data: ByteStream { get }
    /// Reads whatever is left so digests are checked over every byte.
    func finish() throws
}

public protocol Layer {
    /// What errors call this layer ("image.tar: layer sha256:..." or a path).
    var name: String { get }
    func open() throws -> LayerReader
}

/// A layer stored as a (possibly compressed) tar blob.
public struct TarLayer: Layer {
    public let name: String
    private let openBlob: () throws -> ByteStream
    private let blobDigest: String?
    private let uncompressedDigest: String?

    /// `blobDigest` is checked over the stored bytes, `uncompressedDigest`
    /// (the config's diff_id) over the tar; either may be absent.
    public init(name: String, blobDigest: String?, uncompressedDigest: String?, open: @escaping () throws -> ByteStream) {
        self.name = name
        self.openBlob = open
        self.blobDigest = blobDigest
        self.uncompressedDigest = uncompressedDigest
    }

    public func open() throws -> LayerReader {
        var blob = try openBlob()
        var blobVerifier: ByteStream?
        if let digest = blobDigest {
            blob = DigestVerifyingStream(blob, expectedDigest: digest, name: name)
            blobVerifier = blob
        }
        var (tar, compression) = try decompressing(blob, name: name)
        var tarVerifier: ByteStream?
        if let digest = uncompressedDigest, compression != .none || digest != blobDigest {
            tar = DigestVerifyingStream(tar, expectedDigest: digest, name: name + " (uncompressed)")
            tarVerifier = tar
        }
        return TarLayerReader(reader: TarReader(tar, name: name), tarStream: tarVerifier ?? tar, blobStream: blobVerifier)
    }
}

final class TarLayerReader: LayerReader {
    private let reader: TarReader
    private let tarStream: ByteStream
    private let blobStream: ByteStream?

    init(reader: TarReader, tarStream: ByteStream, blobStream: ByteStream?) {
        self.reader = reader
        self.tarStream = tarStream
        self.blobStream = blobStream
    }

    func next() throws -> TarEntry? {
        do {
            return try reader.next()
        } catch let error as ContainerImageError {
            // A corrupt blob usually shows first as a bad header or bad
            // compressed data; its digest is the real diagnosis.
            if let blobStream {
                do { try blobStream.drain() } catch let mismatch as ContainerImageError {
                    if case .digestMismatch = mismatch { throw mismatch }
                }
            }
            throw error
        }
    }
    var data: ByteStream { reader.data }

    func finish() throws {
        while try reader.next() != nil {}
        // Past the end-of-archive blocks: padding, then the compressed
        // stream's trailer; the verifiers check their digest at the end.
        try tarStream.drain()
        try blobStream?.drain()
    }
}
