import Foundation
@testable import ContainerImage

/// Builds ustar/GNU/PAX archives in memory, byte by byte, for the tests.
struct TestTar {
    private(set) var bytes: [UInt8] = []

    enum Kind: UInt8 { case file = 0x30, hardLink = 0x31, symlink = 0x32, character = 0x33, directory = 0x35, fifo = 0x36 }

    mutating func add(_ name: String, _ kind: Kind = .file, data: String = "", link: String = "", mode: Int = 0o644,
                      uid: Int = 0, gid: Int = 0, major: Int = 0, minor: Int = 0, longNames: LongNames = .gnu) {
        var name = name
        if name.utf8.count > 99 {
            switch longNames {
            case .gnu: header("././@LongLink", typeFlag: 0x4c, size: name.utf8.count + 1); body(Array(name.utf8) + [0])
            case .pax:
                let record = paxRecord("path", name)
                header("PaxHeaders/x", typeFlag: 0x78, size: record.count); body(record)
            }
            name = String(name.prefix(90))
        }
        let content = Array(data.utf8)
        header(name, typeFlag: kind.rawValue, size: kind == .file ? content.count : 0, link: link, mode: mode,
               uid: uid, gid: gid, major: major, minor: minor)
        if kind == .file { body(content) }
    }

    enum LongNames { case gnu, pax }

    func finished() -> [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }

    private func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let payload = " \(key)=\(value)\n"
        var length = payload.utf8.count + 1
        while "\(length)".utf8.count + payload.utf8.count != length { length += 1 }
        return Array("\(length)\(payload)".utf8)
    }

    private mutating func header(_ name: String, typeFlag: UInt8, size: Int, link: String = "", mode: Int = 0o644,
                                 uid: Int = 0, gid: Int = 0, major: Int = 0, minor: Int = 0) {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, _ offset: Int) { for (i, b) in text.utf8.enumerated() { block[offset + i] = b } }
        func octal(_ value: Int, _ offset: Int, _ width: Int) { put(String(value, radix: 8).leftPadded(to: width - 1), offset) }
        put(name, 0); octal(mode, 100, 8); octal(uid, 108, 8); octal(gid, 116, 8); octal(size, 124, 12); octal(0, 136, 12)
        block[156] = typeFlag; put(link, 157); put("ustar", 257); put("00", 263); octal(major, 329, 8); octal(minor, 337, 8)
        for i in 148..<156 { block[i] = 0x20 }
        let sum = block.reduce(0) { $0 + Int($1) }
        put(String(sum, radix: 8).leftPadded(to: 6), 148); block[154] = 0
        bytes += block
    }

    private mutating func body(_ content: [UInt8]) {
        bytes += content
        bytes += [UInt8](repeating: 0, count: (512 - content.count % 512) % 512)
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// One entry of a newc archive, as the tests read it back.
struct CpioEntry: Equatable {
    var mode: UInt32, uid: UInt32, gid: UInt32, inode: UInt32, links: UInt32, major: UInt32, minor: UInt32
    var data: [UInt8]
    var text: String { String(decoding: data, as: UTF8.self) }
    var type: UInt32 { mode & 0o170000 }
}

func parseCpio(_ bytes: [UInt8]) -> [(String, CpioEntry)] {
    var result: [(String, CpioEntry)] = []
    var position = 0
    while position + 110 <= bytes.count {
        func field(_ i: Int) -> UInt32 { UInt32(String(decoding: bytes[(position + 6 + 8 * i)..<(position + 14 + 8 * i)], as: UTF8.self), radix: 16)! }
        let nameSize = Int(field(11)), size = Int(field(6))
        let name = String(decoding: bytes[(position + 110)..<(position + 110 + nameSize - 1)], as: UTF8.self)
        let dataStart = (position + 110 + nameSize + 3) & ~3
        let entry = CpioEntry(mode: field(1), uid: field(2), gid: field(3), inode: field(0), links: field(4),
                              major: field(9), minor: field(10), data: Array(bytes[dataStart..<(dataStart + size)]))
        position = (dataStart + size + 3) & ~3
        if name == "TRAILER!!!" { break }
        result.append((name, entry))
    }
    return result
}

func memoryLayer(_ name: String, _ tar: TestTar) -> Layer {
    let bytes = tar.finished()
    return TarLayer(name: name, blobDigest: nil, uncompressedDigest: nil) { MemoryStream(bytes) }
}

/// A minimal static x86_64 ELF header: enough for the /init check.
let fakeInitBinary: String = {
    var header = [UInt8](repeating: 0, count: 64)
    header[0..<4] = [0x7f, 0x45, 0x4c, 0x46]; header[4] = 2; header[5] = 1; header[16] = 2; header[18] = 62; header[54] = 56
    let path = NSTemporaryDirectory() + "stage0-test-init-\(getpid())"
    _ = FileManager.default.createFile(atPath: path, contents: Data(header))
    return path
}()

/// Converts layers and returns the archive's entries by path.
func convert(_ layers: [Layer], config: ImageConfig = ImageConfig(), overrides: RunOverrides = RunOverrides()) throws -> [String: CpioEntry] {
    let sink = MemorySink()
    let image = ResolvedImage(layers: layers, config: config, digest: nil, format: "test")
    _ = try InitramfsBuilder.write(image: image, options: InitramfsOptions(initBinary: fakeInitBinary, overrides: overrides), to: sink)
    return Dictionary(parseCpio(sink.bytes), uniquingKeysWith: { first, _ in first })
}

func convertBytes(_ layers: [Layer]) throws -> [UInt8] {
    let sink = MemorySink()
    let image = ResolvedImage(layers: layers, config: ImageConfig(), digest: nil, format: "test")
    _ = try InitramfsBuilder.write(image: image, options: InitramfsOptions(initBinary: fakeInitBinary), to: sink)
    return sink.bytes
}
