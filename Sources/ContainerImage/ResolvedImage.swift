/// An image reduced to what the conversion needs: its layers bottom to top,
/// its run config, and a digest that identifies it (for caching).
public struct ResolvedImage {
    public var layers: [Layer]
    public var config: ImageConfig
    /// The manifest or config digest; nil for inputs that have none
    /// (root filesystem tars, directories).
    public var digest: String?
    /// What the input was, for messages ("OCI archive", "docker-archive", ...).
    public var format: String
}
