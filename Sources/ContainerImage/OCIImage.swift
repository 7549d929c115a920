// OCI image layouts (a directory, or the same inside an OCI archive tar):
// oci-layout, index.json, and content-addressed blobs. An index may list
// several platforms (or nest indexes); linux/amd64 is chosen.

enum MediaType {
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    static let configs: Set<String> = ["application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"]
    /// Layer types, by the compression they declare (the content's magic
    /// bytes decide in the end).
    static let layers: Set<String> = [
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    ]
}

struct Descriptor {
    var mediaType: String
    var digest: String
    var size: Int64?
    var platform: String?   // "os/architecture[/variant]"
    var refName: String?

    init(_ object: [String: Any], file: String) throws {
        guard let digest = object["digest"] as? String else {
            throw ContainerImageError.malformedMetadata(file: file, reason: "a descriptor has no digest")
        }
        self.digest = try validatedDigest(digest, in: file)
        self.mediaType = object["mediaType"] as? String ?? ""
        self.size = (object["size"] as? Int).map(Int64.init)
        if let platform = object["platform"] as? [String: Any],
           let os = platform["os"] as? String, let architecture = platform["architecture"] as? String {
            let variant = platform["variant"] as? String
            self.platform = [os, architecture, variant].compactMap { $0 }.joined(separator: "/")
        }
        self.refName = (object["annotations"] as? [String: Any])?["org.opencontainers.image.ref.name"] as? String
    }

    var isLinuxAMD64: Bool { platform == "linux/amd64" || platform?.hasPrefix("linux/amd64/") == true }
}

struct OCIImageReader {
    let store: BlobStore
    let format: String

    func resolve() throws -> ResolvedImage {
        guard let layoutBytes = try store.readMetadata("oci-layout") else {
            throw ContainerImageError.malformedMetadata(file: store.name, reason: "no oci-layout file: not an OCI image layout")
        }
        let layout = try jsonObject(layoutBytes, file: "\(store.name): oci-layout")
        guard layout["imageLayoutVersion"] is String else {
            throw ContainerImageError.malformedMetadata(file: "\(store.name): oci-layout", reason: "no imageLayoutVersion")
        }
        guard let indexBytes = try store.readMetadata("index.json") else {
            throw ContainerImageError.malformedMetadata(file: store.name, reason: "no index.json")
        }
        let manifest = try selectManifest(fromIndex: try jsonObject(indexBytes, file: "\(store.name): index.json"),
                                          file: "\(store.name): index.json", depth: 0)
        return try readImage(manifest)
    }

    /// Picks the one image an index describes: the linux/amd64 entry when
    /// entries carry platforms, else the only entry.
    private func selectManifest(fromIndex index: [String: Any], file: String, depth: Int) throws -> Descriptor {
        guard depth < 8 else { throw ContainerImageError.malformedMetadata(file: file, reason: "indexes nested too deeply") }
        guard let entries = index["manifests"] as? [[String: Any]] else {
            throw ContainerImageError.malformedMetadata(file: file, reason: "no manifests array")
        }
        let descriptors = try entries.map { try Descriptor($0, file: file) }
        let withPlatform = descriptors.filter { $0.platform != nil }
        let chosen: Descriptor
        if !withPlatform.isEmpty {
            guard let match = withPlatform.first(where: { $0.isLinuxAMD64 }) else {
                throw ContainerImageError.noMatchingPlatform(file: file, available: withPlatform.compactMap { $0.platform })
            }
            chosen = match
        } else if descriptors.count == 1 {
            chosen = descriptors[0]
        } else if descriptors.isEmpty {
            throw ContainerImageError.malformedMetadata(file: file, reason: "the index lists no images")
        } else {
            let names = descriptors.map { $0.refName ?? $0.digest }
            throw ContainerImageError.malformedMetadata(file: file, reason: "the index holds \(descriptors.count) images (\(names.joined(separator: ", "))); keep one")
        }
        switch chosen.mediaType {
        case MediaType.ociIndex, MediaType.dockerManifestList:
            let path = store.blobPath(chosen.digest)
            let bytes = try readBlob(chosen, what: "index")
            return try selectManifest(fromIndex: try jsonObject(bytes, file: "\(store.name): \(path)"),
                                      file: "\(store.name): \(path)", depth: depth + 1)
        case MediaType.ociManifest, MediaType.dockerManifest, "":
            return chosen
        default:
            throw ContainerImageError.unsupportedMediaType(file: file, mediaType: chosen.mediaType)
        }
    }

    private func readImage(_ manifestDescriptor: Descriptor) throws -> ResolvedImage {
        let manifestFile = "\(store.name): \(store.blobPath(manifestDescriptor.digest))"
        let manifest = try jsonObject(try readBlob(manifestDescriptor, what: "manifest"), file: manifestFile)
        if let mediaType = manifest["mediaType"] as? String,
           mediaType != MediaType.ociManifest, mediaType != MediaType.dockerManifest {
            throw ContainerImageError.unsupportedMediaType(file: manifestFile, mediaType: mediaType)
        }
        guard let configObject = manifest["config"] as? [String: Any],
              let layerObjects = manifest["layers"] as? [[String: Any]] else {
            throw ContainerImageError.malformedMetadata(file: manifestFile, reason: "no config or layers")
        }
        let configDescriptor = try Descriptor(configObject, file: manifestFile)
        guard configDescriptor.mediaType.isEmpty || MediaType.configs.contains(configDescriptor.mediaType) else {
            throw ContainerImageError.unsupportedMediaType(file: manifestFile, mediaType: configDescriptor.mediaType)
        }
        let configFile = "\(store.name): \(store.blobPath(configDescriptor.digest))"
        let config = try ImageConfig.parse(try readBlob(configDescriptor, what: "config"), file: configFile)
        try checkPlatform(config, file: configFile)
        let layerDescriptors = try layerObjects.map { try Descriptor($0, file: manifestFile) }
        if !config.diffIDs.isEmpty && config.diffIDs.count != layerDescriptors.count {
            throw ContainerImageError.malformedMetadata(file: configFile, reason: "\(config.diffIDs.count) diff_ids for \(layerDescriptors.count) layers")
        }
        let layers: [Layer] = try layerDescriptors.enumerated().map { index, descriptor in
            guard MediaType.layers.contains(descriptor.mediaType) else {
                throw ContainerImageError.unsupportedMediaType(file: "\(manifestFile) (layer \(index + 1))", mediaType: descriptor.mediaType)
            }
            let path = store.blobPath(descriptor.digest)
            guard try store.contains(path) else {
                throw ContainerImageError.missingBlob(file: store.name, digest: descriptor.digest)
            }
            let diffID = config.diffIDs.isEmpty ? nil : try validatedDigest(config.diffIDs[index], in: configFile)
            let store = self.store
            return TarLayer(name: "\(store.name): layer \(index + 1) (\(path))", blobDigest: descriptor.digest,
                            uncompressedDigest: diffID) {
                guard let stream = try store.open(path) else { throw ContainerImageError.missingBlob(file: store.name, digest: descriptor.digest) }
                return stream
            }
        }
        return ResolvedImage(layers: layers, config: config, digest: manifestDescriptor.digest,
                             configDigest: configDescriptor.digest, format: format)
    }

    /// A metadata blob, its digest checked.
    private func readBlob(_ descriptor: Descriptor, what: String) throws -> [UInt8] {
        let path = store.blobPath(descriptor.digest)
        guard let bytes = try store.readMetadata(path) else {
            throw ContainerImageError.missingBlob(file: store.name, digest: descriptor.digest)
        }
        let actual = "sha256:" + SHA256.hex(of: bytes)
        guard actual == descriptor.digest else {
            throw ContainerImageError.digestMismatch(file: "\(store.name): \(path) (\(what))", expected: descriptor.digest, actual: actual)
        }
        return bytes
    }
}

/// A single-platform image must still be for linux/amd64.
func checkPlatform(_ config: ImageConfig, file: String) throws {
    if let os = config.os, let architecture = config.architecture, os != "linux" || architecture != "amd64" {
        throw ContainerImageError.noMatchingPlatform(file: file, available: ["\(os)/\(architecture)"])
    }
}
