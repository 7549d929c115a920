/// An image reduced to what the conversion needs: its layers bottom to top,
/// its run config, and a digest that identifies it (for caching).
public struct ResolvedImage {
    public var layers: [Layer]
    public var config: ImageConfig
    /// The manifest or config digest; nil for inputs that have none
    /// (root filesystem tars, directories).
    public var digest: String?
    /// The config's digest: Docker's image ID, whatever the archive format.
    public var configDigest: String? = nil
    /// What the input was, for messages ("OCI archive", "docker-archive", ...).
    public var format: String

    public init(layers: [Layer], config: ImageConfig, digest: String?, configDigest: String? = nil, format: String) {
        self.layers = layers; self.config = config; self.digest = digest; self.configDigest = configDigest; self.format = format
    }
}
