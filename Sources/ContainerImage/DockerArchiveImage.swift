// docker-archive, as `docker save` and `podman save --format docker-archive`
// write it: manifest.json lists the config file and the layer tars. Layers
// are verified against the config's diff_ids; configs and layers stored
// under their digest (Docker 25's blobs/sha256/...) are verified by name.

struct DockerArchiveReader {
    let store: BlobStore

    func resolve() throws -> ResolvedImage {
        let manifestFile = "\(store.name): manifest.json"
        guard let manifestBytes = try store.readMetadata("manifest.json") else {
            throw ContainerImageError.malformedMetadata(file: store.name, reason: "no manifest.json: not a docker-archive")
        }
        let images = try jsonArray(manifestBytes, file: manifestFile)
        guard images.count == 1 else {
            let tags = images.flatMap { ($0["RepoTags"] as? [String]) ?? [] }
            throw ContainerImageError.malformedMetadata(
                file: manifestFile,
                reason: images.isEmpty ? "lists no images" : "lists \(images.count) images (\(tags.joined(separator: ", "))); save one")
        }
        let image = images[0]
        guard let configPath = image["Config"] as? String, let layerPaths = image["Layers"] as? [String] else {
            throw ContainerImageError.malformedMetadata(file: manifestFile, reason: "no Config or Layers")
        }
        let configFile = "\(store.name): \(configPath)"
        guard let configBytes = try store.readMetadata(configPath) else {
            throw ContainerImageError.missingBlob(file: store.name, digest: configPath)
        }
        let configDigest = "sha256:" + SHA256.hex(of: configBytes)
        if let named = digestNamed(by: configPath), named != configDigest {
            throw ContainerImageError.digestMismatch(file: configFile, expected: named, actual: configDigest)
        }
        let config = try ImageConfig.parse(configBytes, file: configFile)
        try checkPlatform(config, file: configFile)
        guard config.diffIDs.count == layerPaths.count else {
            throw ContainerImageError.malformedMetadata(file: configFile, reason: "\(config.diffIDs.count) diff_ids for \(layerPaths.count) layers")
        }
        let layers: [Layer] = try layerPaths.enumerated().map { index, path in
            guard try store.contains(path) else { throw ContainerImageError.missingBlob(file: store.name, digest: path) }
            let store = self.store
            return TarLayer(name: "\(store.name): layer \(index + 1) (\(path))", blobDigest: digestNamed(by: path),
                            uncompressedDigest: try validatedDigest(config.diffIDs[index], in: configFile)) {
                guard let stream = try store.open(path) else { throw ContainerImageError.missingBlob(file: store.name, digest: path) }
                return stream
            }
        }
        return ResolvedImage(layers: layers, config: config, digest: configDigest, configDigest: configDigest, format: "docker-archive")
    }

    /// "blobs/sha256/<hex>" and "<hex>.json" name their content's digest;
    /// "<id>/layer.tar" does not.
    private func digestNamed(by path: String) -> String? {
        let parts = path.split(separator: "/")
        if parts.count == 3, parts[0] == "blobs", parts[1] == "sha256", isHex64(parts[2]) { return "sha256:\(parts[2])" }
        if parts.count == 1, parts[0].hasSuffix(".json"), isHex64(parts[0].dropLast(5)) { return "sha256:\(parts[0].dropLast(5))" }
        return nil
    }

    private func isHex64(_ text: Substring) -> Bool {
        text.count == 64 && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}
