// libFuzzer target: the OCI image-layout reader (OCIImageReader: oci-layout,
// index.json, nested indexes, platform choice, manifest, config, layers,
// digest checks) and the docker-archive reader (manifest.json), over an
// in-memory blob store, then every layer the image resolves to drained.
//
// Input: files, each introduced by a line "@@ <path>" (the first "@@ " may
// start the input). The path "blob" makes the next content-addressed blob,
// stored at blobs/sha256/<its digest>; any other path is stored as named
// (oci-layout, index.json, manifest.json, ...). So that mutated documents
// still reach past the digest checks, "sha256:#N" and "sha256/#N" (N a
// digit) in a file are replaced by the digest of blob N: blobs may name
// earlier blobs, named files any blob.

@_cdecl("LLVMFuzzerTestOneInput")
public func ociFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let files = decodeImageFiles(Array(UnsafeBufferPointer(start: data, count: size)))
    let store = FuzzBlobStore(name: "fuzz-image", files: files)
    do {
        let image: ResolvedImage
        if files["oci-layout"] != nil {
            image = try OCIImageReader(store: store, format: "OCI image layout").resolve()
        } else {
            image = try DockerArchiveReader(store: store).resolve()
        }
        var tree = RootfsTree()
        for (index, layer) in image.layers.enumerated() {
            try tree.apply(layer: layer, index: index)
            try drain(layer)
        }
        if fuzzDebug { print("image: \(image.layers.count) layers, \(tree.sortedEntries().count) paths") }
    } catch {
        noteError(error, "image")
    }
    return 0
}

func decodeImageFiles(_ input: [UInt8]) -> [String: [UInt8]] {
    let marker = Array("@@ ".utf8)
    var sections: [(path: String, content: [UInt8])] = []
    var start = 0
    if input.starts(with: marker) { start = marker.count } else if !input.isEmpty { return [:] }
    var index = start
    var sectionStart = start
    while index <= input.count {
        let atMarker = index == input.count
            || (input[index] == 0x0A && input[(index + 1)...].starts(with: marker))
        if atMarker {
            let section = input[sectionStart..<index]
            let newline = section.firstIndex(of: 0x0A) ?? section.endIndex
            let path = String(decoding: section[sectionStart..<newline], as: UTF8.self)
            let content = newline < section.endIndex ? Array(section[(newline + 1)...]) : []
            sections.append((path, content))
            index += 1 + marker.count
            sectionStart = index
            continue
        }
        index += 1
    }
    var blobDigests: [String] = []
    var files: [String: [UInt8]] = [:]
    for (path, content) in sections where path == "blob" {
        let resolved = substituteDigests(content, blobDigests)
        let digest = SHA256.hex(of: resolved)
        blobDigests.append(digest)
        files["blobs/sha256/" + digest] = resolved
    }
    for (path, content) in sections where path != "blob" {
        files[path] = substituteDigests(content, blobDigests)
    }
    return files
}

/// "sha256:#N" / "sha256/#N" -> the digest of blob N, when there is one.
func substituteDigests(_ content: [UInt8], _ digests: [String]) -> [UInt8] {
    guard !digests.isEmpty else { return content }
    let prefix = Array("sha256".utf8)
    var result: [UInt8] = []
    result.reserveCapacity(content.count)
    var index = 0
    while index < content.count {
        if content[index...].starts(with: prefix), index + 8 < content.count,
           content[index + 6] == UInt8(ascii: ":") || content[index + 6] == UInt8(ascii: "/"),
           content[index + 7] == UInt8(ascii: "#"),
           content[index + 8] >= 0x30, content[index + 8] <= 0x39, Int(content[index + 8] - 0x30) < digests.count {
            result += prefix + [content[index + 6]] + Array(digests[Int(content[index + 8] - 0x30)].utf8)
            index += 9
            continue
        }
        result.append(content[index])
        index += 1
    }
    return result
}
