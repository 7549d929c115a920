// The first pass of the conversion: the final root filesystem, computed from
// the layers' headers alone. Each layer's whiteouts remove what lower layers
// made, then its entries are placed. Nodes keep metadata and, for regular
// files, only a reference (layer, ordinal) to where the data is; contents
// are never held, so memory grows with the number of paths, not with bytes.

/// Where a regular file's bytes are: entry `ordinal` of layer `layer`.
/// Paths that share a source are hard links of one another.
struct DataSource: Hashable, Comparable {
    let layer: Int
    let ordinal: Int
    static func < (a: DataSource, b: DataSource) -> Bool { (a.layer, a.ordinal) < (b.layer, b.ordinal) }
}

final class RootfsNode {
    var kind: TarEntryKind
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var size: Int64
    var linkTarget: String
    var deviceMajor: UInt32
    var deviceMinor: UInt32
    var source: DataSource?
    var children: [String: RootfsNode] = [:]

    init(kind: TarEntryKind, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, size: Int64 = 0, linkTarget: String = "",
         deviceMajor: UInt32 = 0, deviceMinor: UInt32 = 0, source: DataSource? = nil) {
        self.kind = kind; self.mode = mode; self.uid = uid; self.gid = gid; self.size = size
        self.linkTarget = linkTarget; self.deviceMajor = deviceMajor; self.deviceMinor = deviceMinor; self.source = source
    }

    convenience init(_ entry: TarEntry, source: DataSource?) {
        self.init(kind: entry.kind, mode: entry.mode, uid: entry.uid, gid: entry.gid, size: entry.size,
                  linkTarget: entry.linkTarget, deviceMajor: entry.deviceMajor, deviceMinor: entry.deviceMinor, source: source)
    }

    /// A copy sharing the data source: what a hard link to this node is.
    func linkCopy() -> RootfsNode {
        RootfsNode(kind: kind, mode: mode, uid: uid, gid: gid, size: size, linkTarget: linkTarget,
                   deviceMajor: deviceMajor, deviceMinor: deviceMinor, source: source)
    }

    /// Parent directories that no layer names get these.
    static func implicitDirectory() -> RootfsNode { RootfsNode(kind: .directory, mode: 0o755) }
}

struct RootfsTree {
    let root = RootfsNode.implicitDirectory()
    /// Symlinks followed in one lookup before giving up (Linux's limit).
    private let maximumSymlinkHops = 40

    /// Applies one layer: reads its headers, then whiteouts, then entries.
    mutating func apply(layer: Layer, index: Int) throws {
        let reader = try layer.open()
        var placements: [(components: [String], entry: TarEntry)] = []
        var whiteouts: [[String]] = []
        var opaqueDirectories: [[String]] = []
        while let entry = try reader.next() {
            let components = try imagePathComponents(entry.path, file: layer.name)
            guard let last = components.last else { continue } // the root itself: nothing to place
            if last == ".wh..wh..opq" {
                opaqueDirectories.append(Array(components.dropLast()))
            } else if last.hasPrefix(".wh..wh.") {
                continue // aufs bookkeeping (.wh..wh.plnk and the like), not part of the tree
            } else if last.hasPrefix(".wh.") {
                let hidden = String(last.dropFirst(4))
                guard !hidden.isEmpty, hidden != ".", hidden != ".." else {
                    throw ContainerImageError.invalidEntry(file: layer.name, entry: entry.path, reason: "whiteout names nothing")
                }
                whiteouts.append(Array(components.dropLast()) + [hidden])
            } else {
                placements.append((components, entry))
            }
        }
        try reader.finish()

        // Whiteouts hide what the layers below made, never this layer's own entries.
        for path in whiteouts {
            if let parent = lookupLiteral(Array(path.dropLast())) { parent.children.removeValue(forKey: path.last!) }
        }
        for path in opaqueDirectories {
            if let directory = lookupLiteral(path), directory.kind == .directory { directory.children.removeAll() }
        }
        for (components, entry) in placements {
            try place(entry, at: components, layer: layer, index: index)
        }
    }

    private func place(_ entry: TarEntry, at components: [String], layer: Layer, index: Int) throws {
        let parent = try resolveDirectory(Array(components.dropLast()), creating: true, layer: layer, entry: entry.path)!
        let name = components.last!
        switch entry.kind {
        case .directory:
            if let existing = parent.children[name], existing.kind == .directory {
                // A directory over a directory merges: only its metadata changes.
                existing.mode = entry.mode; existing.uid = entry.uid; existing.gid = entry.gid
            } else {
                parent.children[name] = RootfsNode(entry, source: nil)
            }
        case .hardLink:
            let targetComponents: [String]
            do {
                targetComponents = try imagePathComponents(entry.linkTarget, file: layer.name)
            } catch ContainerImageError.pathEscapesRoot(_, _, let reason) {
                // Name the entry, not only its target: the entry is what the layer adds.
                throw ContainerImageError.pathEscapesRoot(file: layer.name, entry: entry.path,
                                                          reason: "hard link to \(entry.linkTarget): \(reason)")
            }
            guard let targetName = targetComponents.last,
                  let targetParent = try resolveDirectory(Array(targetComponents.dropLast()), creating: false, layer: layer, entry: entry.path),
                  let target = targetParent.children[targetName] else {
                throw ContainerImageError.invalidEntry(file: layer.name, entry: entry.path,
                                                       reason: "hard link to \(entry.linkTarget), which does not exist")
            }
            guard target.kind != .directory else {
                throw ContainerImageError.invalidEntry(file: layer.name, entry: entry.path,
                                                       reason: "hard link to \(entry.linkTarget), which is a directory")
            }
            if target === parent.children[name] { return } // a link to itself changes nothing
            parent.children[name] = target.linkCopy()
        case .regular:
            parent.children[name] = RootfsNode(entry, source: DataSource(layer: index, ordinal: entry.ordinal))
        case .symbolicLink, .characterDevice, .blockDevice, .fifo:
            parent.children[name] = RootfsNode(entry, source: nil)
        }
    }

    /// Walks to a directory, following symlinks the way the kernel would
    /// inside the image's root; a symlink that leads above the root is an
    /// escape and refused. Missing directories are created when asked.
    private func resolveDirectory(_ components: [String], creating: Bool, layer: Layer, entry: String) throws -> RootfsNode? {
        var pending = components[...]
        var path: [String] = []
        var node = root
        var hops = 0
        while let component = pending.popFirst() {
            if component == ".." {
                guard !path.isEmpty else {
                    throw ContainerImageError.pathEscapesRoot(file: layer.name, entry: entry, reason: "a symlink on its path leads above the root")
                }
                path.removeLast()
                node = lookupLiteral(path)!
                continue
            }
            guard let child = node.children[component] else {
                guard creating else { return nil }
                let directory = RootfsNode.implicitDirectory()
                node.children[component] = directory
                node = directory
                path.append(component)
                continue
            }
            switch child.kind {
            case .directory:
                node = child
                path.append(component)
            case .symbolicLink:
                hops += 1
                guard hops <= maximumSymlinkHops else {
                    throw ContainerImageError.invalidEntry(file: layer.name, entry: entry, reason: "too many levels of symbolic links")
                }
                let target = child.linkTarget
                let targetParts = target.split(separator: "/", omittingEmptySubsequences: true)
                    .map(String.init).filter { $0 != "." }
                let restart = (target.hasPrefix("/") ? [] : path) + targetParts
                pending = (restart + pending)[...]
                path = []
                node = root
            default:
                throw ContainerImageError.invalidEntry(file: layer.name, entry: entry,
                                                       reason: "/\((path + [component]).joined(separator: "/")) is not a directory")
            }
        }
        return node
    }

    /// The node at exactly this path, symlinks not followed.
    func lookupLiteral(_ components: [String]) -> RootfsNode? {
        var node = root
        for component in components {
            guard node.kind == .directory, let child = node.children[component] else { return nil }
            node = child
        }
        return node
    }

    /// Removes whatever is at `components` (used for paths stage0 owns).
    func remove(_ components: [String]) {
        lookupLiteral(Array(components.dropLast()))?.children.removeValue(forKey: components.last!)
    }

    /// Every path below the root in byte order (parents before children),
    /// with its node.
    func sortedEntries() -> [(path: String, node: RootfsNode)] {
        var result: [(String, RootfsNode)] = []
        func visit(_ node: RootfsNode, prefix: String) {
            for (name, child) in node.children {
                let path = prefix.isEmpty ? name : prefix + "/" + name
                result.append((path, child))
                if child.kind == .directory { visit(child, prefix: path) }
            }
        }
        visit(root, prefix: "")
        result.sort { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        return result
    }
}
