import Glibc

// Image -> initramfs in two passes over the layers.
//
// Pass 1 (RootfsTree) reads only headers and computes the final tree.
// Pass 2 writes the cpio: first every directory, symlink, device and fifo
// in sorted path order (they carry no data), then stage0's own files, then
// the regular files in the order their data appears in the layers, each
// layer read once front to back. That order needs no seeking and no
// buffering of contents, and it is a pure function of the image, so the
// same image and flags always give the same bytes.

public struct InitramfsOptions: Sendable {
    public var compression: Compression = .none
    public var overrides = RunOverrides()
    /// The guest /init binary to install.
    public var initBinary: String

    public init(initBinary: String, compression: Compression = .none, overrides: RunOverrides = RunOverrides()) {
        self.initBinary = initBinary; self.compression = compression; self.overrides = overrides
    }
}

public struct InitramfsSummary: Sendable {
    public var entries: Int
    public var fileBytes: Int64
    public var configuration: RunConfiguration
}

public enum InitramfsBuilder {
    /// Paths stage0 puts in every initramfs; the image's own are dropped.
    static let initPath = "init"
    static let consolePath = ["dev", "console"]
    static let reservedDirectory = ".stage0"

    /// Converts `image` and writes the initramfs atomically to `output`.
    @discardableResult
    public static func build(image: ResolvedImage, options: InitramfsOptions, output: String) throws -> InitramfsSummary {
        let file = try AtomicFileSink(destination: output)
        let sink: ByteSink
        switch options.compression {
        case .none: sink = file
        case .gzip: sink = try GzipCompressor(file)
        case .zstd: sink = try ZstdCompressor(file)
        }
        let summary = try write(image: image, options: options, to: sink)
        try sink.finish()
        try file.commit()
        return summary
    }

    static func write(image: ResolvedImage, options: InitramfsOptions, to sink: ByteSink) throws -> InitramfsSummary {
        try checkStaticInitBinary(options.initBinary)
        var tree = RootfsTree()
        for (index, layer) in image.layers.enumerated() {
            try tree.apply(layer: layer, index: index)
        }
        // The kernel makes /dev/console before unpacking; an image's own
        // (often an empty file from `docker export`) would replace it.
        if let dev = tree.root.children["dev"], dev.kind != .directory {
            tree.root.children["dev"] = RootfsNode.implicitDirectory()
        }
        tree.remove(consolePath)
        tree.remove([initPath])
        tree.remove([reservedDirectory])

        // Like Docker's container ID: 12 hex digits, here of the image ID.
        let hostname = (image.configDigest ?? image.digest).map { String($0.split(separator: ":").last!.prefix(12)) } ?? "stage0"
        let configuration = RunConfiguration(image: image.config, overrides: options.overrides, hostname: hostname)
        try configuration.validate()

        let writer = CpioWriter(sink: sink)
        var inode: UInt32 = 0
        func nextInode() -> UInt32 { inode += 1; return inode }
        var entryCount = 0
        var fileBytes: Int64 = 0

        // Metadata-only entries, sorted; regular files grouped by data source.
        var filesBySource: [DataSource: [String]] = [:]
        var sawDev = false
        for (path, node) in tree.sortedEntries() {
            if node.kind == .regular {
                filesBySource[node.source!, default: []].append(path)
                continue
            }
            if path == "dev" && node.kind == .directory { sawDev = true }
            try writer.write(metadataHeader(path: path, node: node, inode: nextInode()),
                             data: node.kind == .symbolicLink ? MemoryStream(Array(node.linkTarget.utf8)) : nil)
            entryCount += 1
        }

        // stage0's own entries.
        if !sawDev {
            try writer.write(CpioHeader(path: "dev", type: .directory, permissions: 0o755, inode: nextInode()))
            entryCount += 1
        }
        try writer.write(CpioHeader(path: consolePath.joined(separator: "/"), type: .characterDevice, permissions: 0o600,
                                    inode: nextInode(), deviceMajor: 5, deviceMinor: 1))
        try writer.write(CpioHeader(path: reservedDirectory, type: .directory, permissions: 0o755, inode: nextInode()))
        let config = configuration.encoded()
        try writer.write(CpioHeader(path: RunConfiguration.path, type: .regular, permissions: 0o644, inode: nextInode(),
                                    size: Int64(config.count)), data: MemoryStream(config))
        let initStream = try FileStream(path: options.initBinary)
        var initInfo = stat()
        guard stat(options.initBinary, &initInfo) == 0 else {
            throw ContainerImageError.unreadable(file: options.initBinary, reason: errnoDescription())
        }
        try writer.write(CpioHeader(path: initPath, type: .regular, permissions: 0o755, inode: nextInode(),
                                    size: Int64(initInfo.st_size)), data: initStream)
        entryCount += 4

        // Regular files, layer by layer, in the order their data is stored.
        let sourcesByLayer = Dictionary(grouping: filesBySource.keys, by: { $0.layer })
        for (index, layer) in image.layers.enumerated() {
            guard let sources = sourcesByLayer[index] else { continue }
            let wanted = Set(sources.map { $0.ordinal })
            let reader = try layer.open()
            var written = 0
            while written < wanted.count, let entry = try reader.next() {
                guard wanted.contains(entry.ordinal) else { continue }
                let source = DataSource(layer: index, ordinal: entry.ordinal)
                let paths = filesBySource[source]!.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                let node = tree.lookupLiteral(paths[0].split(separator: "/").map(String.init))!
                let shared = nextInode()
                for (position, path) in paths.enumerated() {
                    // The first name carries the data; the kernel links the others to it.
                    var header = CpioHeader(path: path, type: .regular, permissions: node.mode, uid: node.uid, gid: node.gid,
                                            inode: shared, linkCount: UInt32(paths.count))
                    header.size = position == 0 ? entry.size : 0
                    try writer.write(header, data: position == 0 ? reader.data : nil)
                    entryCount += 1
                }
                fileBytes += entry.size
                written += 1
            }
            guard written == wanted.count else {
                throw ContainerImageError.malformedArchive(file: layer.name, reason: "it changed between the two reads")
            }
            try reader.finish()
        }
        try writer.writeTrailer()
        return InitramfsSummary(entries: entryCount, fileBytes: fileBytes, configuration: configuration)
    }

    private static func metadataHeader(path: String, node: RootfsNode, inode: UInt32) -> CpioHeader {
        let type: CpioFileType
        var size: Int64 = 0
        switch node.kind {
        case .directory: type = .directory
        case .symbolicLink: type = .symbolicLink; size = Int64(node.linkTarget.utf8.count)
        case .characterDevice: type = .characterDevice
        case .blockDevice: type = .blockDevice
        case .fifo: type = .fifo
        case .regular, .hardLink: type = .regular // not reached: files are written with their data
        }
        return CpioHeader(path: path, type: type, permissions: node.mode, uid: node.uid, gid: node.gid, inode: inode,
                          linkCount: node.kind == .directory ? 2 : 1, size: size,
                          deviceMajor: node.deviceMajor, deviceMinor: node.deviceMinor)
    }
}
