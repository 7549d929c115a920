// Paths inside an image, as the components below the root. The rules are
// strict on purpose: an entry that names the root's parent or an absolute
// path is refused rather than quietly rewritten, since a layer that does it
// is broken or hostile.

/// Splits a tar member name into components below the root: "./a//b/" is
/// ["a", "b"]; "." or "./" is the root itself ([]).
func imagePathComponents(_ path: String, file: String) throws -> [String] {
    if path.hasPrefix("/") {
        throw ContainerImageError.pathEscapesRoot(file: file, entry: path, reason: "absolute path")
    }
    var components: [String] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        if part == "." { continue }
        if part == ".." {
            throw ContainerImageError.pathEscapesRoot(file: file, entry: path, reason: "'..' component")
        }
        components.append(String(part))
    }
    return components
}

/// Components of a link target relative to the root: absolute targets are
/// relative to the image root, '..' above the root is refused.
func resolveLinkComponents(_ target: String, relativeTo directory: [String], file: String, entry: String) throws -> [String] {
    var result = target.hasPrefix("/") ? [] : directory
    for part in target.split(separator: "/", omittingEmptySubsequences: true) {
        if part == "." { continue }
        if part == ".." {
            if result.isEmpty {
                throw ContainerImageError.pathEscapesRoot(file: file, entry: entry, reason: "link target \(target) climbs above the root")
            }
            result.removeLast()
            continue
        }
        result.append(String(part))
    }
    return result
}
