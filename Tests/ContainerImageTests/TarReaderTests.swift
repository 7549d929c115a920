import Testing
@testable import ContainerImage

@Suite struct TarReaderTests {
    func entries(_ tar: TestTar) throws -> [TarEntry] {
        let reader = TarReader(MemoryStream(tar.finished()), name: "test.tar")
        var result: [TarEntry] = []
        while let entry = try reader.next() { result.append(entry) }
        return result
    }

    @Test func readsTypesModesOwnersAndLinks() throws {
        var tar = TestTar()
        tar.add("dir/", .directory, mode: 0o755)
        tar.add("dir/file", data: "hello", mode: 0o4755, uid: 1000, gid: 2000)
        tar.add("dir/link", .symlink, link: "file")
        tar.add("dir/hard", .hardLink, link: "dir/file")
        tar.add("dev/null", .character, major: 1, minor: 3)
        tar.add("fifo", .fifo)
        let read = try entries(tar)
        #expect(read.map(\.kind) == [.directory, .regular, .symbolicLink, .hardLink, .characterDevice, .fifo])
        #expect(read[1].mode == 0o4755 && read[1].uid == 1000 && read[1].gid == 2000 && read[1].size == 5)
        #expect(read[2].linkTarget == "file" && read[3].linkTarget == "dir/file")
        #expect(read[4].deviceMajor == 1 && read[4].deviceMinor == 3)
        #expect(read.map(\.ordinal) == Array(0..<6))
    }

    @Test func gnuLongNamesAreJoined() throws {
        let long = String(repeating: "d/", count: 60) + "file"
        var tar = TestTar()
        tar.add(long, data: "x", longNames: .gnu)
        #expect(try entries(tar).map(\.path) == [long])
    }

    @Test func paxPathOverridesTheHeaderName() throws {
        let long = String(repeating: "p/", count: 70) + "file"
        var tar = TestTar()
        tar.add(long, data: "x", longNames: .pax)
        #expect(try entries(tar).map(\.path) == [long])
    }

    @Test func entryDataIsStreamedAndSkippedWhenUnread() throws {
        var tar = TestTar()
        tar.add("a", data: String(repeating: "a", count: 1000))
        tar.add("b", data: "bee")
        let reader = TarReader(MemoryStream(tar.finished()), name: "t")
        _ = try reader.next()
        let b = try reader.next()
        #expect(b?.path == "b")
        #expect(try reader.data.readAll(limit: 100, name: "b") == Array("bee".utf8))
    }

    @Test func corruptHeaderIsReportedWithTheArchiveName() throws {
        var bytes = [UInt8](repeating: 0x41, count: 512) + [UInt8](repeating: 0, count: 1024)
        bytes[148] = 0x30
        let reader = TarReader(MemoryStream(bytes), name: "broken.tar")
        #expect(throws: ContainerImageError.self) { _ = try reader.next() }
        do { _ = try reader.next() } catch { #expect("\(error)".hasPrefix("broken.tar: ")) }
    }
}

@Suite struct DigestTests {
    @Test func sha256MatchesKnownVectors() {
        #expect(SHA256.hex(of: []) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(of: [UInt8](repeating: 0x61, count: 1_000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func mismatchedLayerDigestFailsNamingTheLayer() throws {
        var tar = TestTar()
        tar.add("f", data: "x")
        let bytes = tar.finished()
        let layer = TarLayer(name: "image.tar: layer 1", blobDigest: "sha256:" + String(repeating: "0", count: 64),
                             uncompressedDigest: nil) { MemoryStream(bytes) }
        #expect(throws: ContainerImageError.self) { _ = try convert([layer]) }
        do { _ = try convert([layer]) } catch { #expect("\(error)".contains("image.tar: layer 1: digest mismatch")) }
    }
}
