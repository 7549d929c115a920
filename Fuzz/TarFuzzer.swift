// libFuzzer target: the tar reader, and what reads tars through it.
//
// The input is one tar archive, possibly gzip or zstd compressed. It is read
// 1. as an image layer (TarLayer: decompression sniffed from the bytes, every
//    entry and all of its data, then the end), checking each entry;
// 2. as a layer of the root filesystem (RootfsTree.apply: paths, whiteouts,
//    links), and the tree walked;
// 3. as an image file given on the command line (ImageInput.resolveFile: an
//    OCI archive, a docker-archive, or a rootfs tar; its members indexed by
//    TarArchiveStore, links between them followed), every layer drained.
// ContainerImageError is an expected outcome; a trap is a bug.

@_cdecl("LLVMFuzzerTestOneInput")
public func tarFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let layer = TarLayer(name: "fuzz.tar", blobDigest: nil, uncompressedDigest: nil) { MemoryStream(bytes) }
    do {
        try drain(layer)
    } catch {
        noteError(error, "layer")
    }
    do {
        var tree = RootfsTree()
        try tree.apply(layer: layer, index: 0)
        for (path, node) in tree.sortedEntries() {
            expect(!path.hasPrefix("/") && !path.split(separator: "/").contains(".."), "tree path \(path)")
            _ = node.kind
        }
    } catch {
        noteError(error, "rootfs tree")
    }
    let path = scratchFile("tar", contents: bytes)
    do {
        let image = try ImageInput.resolveFile(path)
        for layer in image.layers { try drain(layer) }
        if fuzzDebug { print("image file: \(image.format), \(image.layers.count) layers") }
        if Compression.detect(Array(bytes.prefix(4))) == .none, bytes.count >= 512 {
            let store = try TarArchiveStore(path: path)
            for name in store.memberNames.sorted() where store.members[name]?.kind != .directory {
                do {
                    _ = try store.open(name).map { try $0.readAll(limit: 1 << 20, name: name) }
                } catch {
                    noteError(error, "member \(name)")
                }
            }
        }
    } catch {
        noteError(error, "image file")
    }
    return 0
}
