import Testing
@testable import ContainerImage

@Suite struct LayerApplicationTests {
    @Test func whiteoutRemovesALowerFileAndItsSubtree() throws {
        var lower = TestTar(), upper = TestTar()
        lower.add("a/keep", data: "k"); lower.add("a/gone", data: "g"); lower.add("tree/x/y", data: "y")
        upper.add("a/.wh.gone"); upper.add(".wh.tree")
        let result = try convert([memoryLayer("l1", lower), memoryLayer("l2", upper)])
        #expect(result["a/keep"]?.text == "k")
        #expect(result["a/gone"] == nil && result["tree"] == nil && result["tree/x/y"] == nil)
        #expect(result.keys.allSatisfy { !$0.contains(".wh.") })
    }

    @Test func opaqueDirectoryHidesLowerEntriesButKeepsItsOwn() throws {
        var lower = TestTar(), upper = TestTar()
        lower.add("d/old", data: "old")
        upper.add("d/new", data: "new"); upper.add("d/.wh..wh..opq")
        let result = try convert([memoryLayer("l1", lower), memoryLayer("l2", upper)])
        #expect(result["d/old"] == nil)
        #expect(result["d/new"]?.text == "new")
    }

    @Test func upperFileReplacesLowerFileAndDirectory() throws {
        var lower = TestTar(), upper = TestTar()
        lower.add("f", data: "lower"); lower.add("d/child", data: "c")
        upper.add("f", data: "upper"); upper.add("d", data: "now a file")
        let result = try convert([memoryLayer("l1", lower), memoryLayer("l2", upper)])
        #expect(result["f"]?.text == "upper")
        #expect(result["d"]?.text == "now a file" && result["d/child"] == nil)
    }

    @Test func hardLinksShareAnInodeAndDataIsWrittenOnce() throws {
        var lower = TestTar(), upper = TestTar()
        lower.add("a", data: "shared")
        upper.add("b", .hardLink, link: "a")
        let result = try convert([memoryLayer("l1", lower), memoryLayer("l2", upper)])
        let a = try #require(result["a"]), b = try #require(result["b"])
        #expect(a.inode == b.inode && a.links == 2 && b.links == 2)
        #expect(a.text + b.text == "shared") // the first name carries the data
    }

    @Test func hardLinkSurvivesWhiteoutOfItsTarget() throws {
        var lower = TestTar(), upper = TestTar()
        lower.add("a", data: "data"); lower.add("b", .hardLink, link: "a")
        upper.add(".wh.a")
        let result = try convert([memoryLayer("l1", lower), memoryLayer("l2", upper)])
        #expect(result["a"] == nil && result["b"]?.text == "data" && result["b"]?.links == 1)
    }

    @Test func symlinksDevicesAndFifosKeepTheirMetadata() throws {
        var tar = TestTar()
        tar.add("l", .symlink, link: "/etc/target"); tar.add("null", .character, mode: 0o666, major: 1, minor: 3)
        tar.add("p", .fifo, mode: 0o600); tar.add("owned", data: "o", mode: 0o4750, uid: 7, gid: 8)
        let result = try convert([memoryLayer("l", tar)])
        #expect(result["l"]?.type == 0o120000 && result["l"]?.text == "/etc/target")
        #expect(result["null"]?.type == 0o020000 && result["null"]?.major == 1 && result["null"]?.minor == 3)
        #expect(result["p"]?.mode == 0o010600)
        #expect(result["owned"]?.mode == 0o104750 && result["owned"]?.uid == 7 && result["owned"]?.gid == 8)
    }

    @Test func entriesThroughSymlinksLandInTheTarget() throws {
        var tar = TestTar()
        tar.add("usr/lib/", .directory); tar.add("lib", .symlink, link: "usr/lib"); tar.add("lib/libc.so", data: "c")
        let result = try convert([memoryLayer("l", tar)])
        #expect(result["usr/lib/libc.so"]?.text == "c" && result["lib"]?.type == 0o120000)
    }

    @Test func escapesAreRefusedNamingTheLayerAndEntry() throws {
        for (path, link) in [("../x", ""), ("/etc/passwd", ""), ("up/x", "../..")] {
            var tar = TestTar()
            if !link.isEmpty { tar.add("up", .symlink, link: link) }
            tar.add(path, data: "x")
            do {
                _ = try convert([memoryLayer("evil.tar", tar)])
                Issue.record("\(path) was accepted")
            } catch let error as ContainerImageError {
                #expect("\(error)".hasPrefix("evil.tar: entry \(path) escapes the root filesystem"))
            }
        }
    }

    @Test func imageConsoleAndInitAreReplacedByStage0s() throws {
        var tar = TestTar()
        tar.add("dev/console", data: ""); tar.add("init", data: "image init")
        let result = try convert([memoryLayer("l", tar)])
        #expect(result["dev/console"]?.type == 0o020000 && result["dev/console"]?.major == 5 && result["dev/console"]?.minor == 1)
        #expect(result["init"]?.data.prefix(4) == [0x7f, 0x45, 0x4c, 0x46])
        #expect(result[".stage0/config"] != nil)
    }

    @Test func outputIsReproducibleAndParentsComeFirst() throws {
        var tar = TestTar()
        for name in ["z/b", "a/c/d", "m", "a/b"] { tar.add(name, data: name) }
        let first = try convertBytes([memoryLayer("l", tar)])
        #expect(first == (try convertBytes([memoryLayer("l", tar)])))
        let names = parseCpio(first).map(\.0)
        for (index, name) in names.enumerated() {
            let parent = name.split(separator: "/").dropLast().joined(separator: "/")
            if !parent.isEmpty { #expect(names[..<index].contains(parent), "\(parent) after \(name)") }
        }
    }

    @Test func gzipAndZstdLayersAreDecompressed() throws {
        var tar = TestTar()
        tar.add("f", data: "compressed")
        for compression in [Compression.gzip, .zstd] {
            let sink = MemorySink()
            let compressor: ByteSink = compression == .gzip ? try GzipCompressor(sink) : try ZstdCompressor(sink)
            try compressor.write(tar.finished()); try compressor.finish()
            let bytes = sink.bytes
            let layer = TarLayer(name: "c", blobDigest: "sha256:" + SHA256.hex(of: bytes), uncompressedDigest: "sha256:" + SHA256.hex(of: tar.finished())) { MemoryStream(bytes) }
            #expect(try convert([layer])["f"]?.text == "compressed")
        }
    }
}
