// A streaming reader of tar archives: ustar, GNU (long names 'L'/'K',
// base-256 numbers) and POSIX PAX ('x' per-entry and 'g' global headers).
// It yields one header at a time; the entry's data is read from `data`
// before asking for the next header, and skipped if it is not read.

public enum TarEntryKind: Equatable, Sendable {
    case regular, hardLink, symbolicLink, characterDevice, blockDevice, directory, fifo
}

public struct TarEntry: Sendable {
    public var path: String
    public var kind: TarEntryKind
    public var mode: UInt32        // permission and set-id/sticky bits only
    public var uid: UInt32
    public var gid: UInt32
    public var size: Int64
    public var linkTarget: String
    public var deviceMajor: UInt32
    public var deviceMinor: UInt32
    /// Position of this entry in its archive, counting from 0: the same on
    /// every read of the same archive, so it names the entry across passes.
    public var ordinal: Int
}

public final class TarReader {
    private let stream: ByteStream
    private let name: String
    private var pendingData: LimitedStream?
    private var pendingPadding: Int64 = 0
    private var globalPAX: [String: String] = [:]
    private var nextOrdinal = 0
    private var ended = false
    /// Offset of the next header within the (decompressed) stream.
    private(set) var position: Int64 = 0
    /// Offset of the data of the entry last returned by `next()`.
    private(set) var dataOffset: Int64 = 0

    /// `name` is what errors call this archive (a file, or "image.tar: layer sha256:...").
    public init(_ stream: ByteStream, name: String) {
        self.stream = stream
        self.name = name
    }

    /// The data of the entry last returned by `next()`.
    public var data: ByteStream { pendingData ?? LimitedStream(MemoryStream([]), limit: 0) }

    /// The next entry, or nil at the end of the archive.
    public func next() throws -> TarEntry? {
        if ended { return nil }
        try skipPendingData()
        var longName: String?
        var longLink: String?
        var pax: [String: String] = [:]
        var header = [UInt8](repeating: 0, count: 512)
        while true {
            let headerOffset = position
            let n = try header.withUnsafeMutableBytes { try stream.readFully(into: $0) }
            position += Int64(n)
            if n == 0 {
                // Some writers omit the two zero blocks; a clean end is fine.
                ended = true
                return nil
            }
            guard n == 512 else { throw malformed("truncated header at offset \(headerOffset)") }
            if header.allSatisfy({ $0 == 0 }) {
                ended = true
                return nil
            }
            try verifyChecksum(header, at: headerOffset)
            let typeFlag = header[156]
            let size = try number(header, 124, 12, field: "size", at: headerOffset)
            guard size >= 0 else { throw malformed("negative size at offset \(headerOffset)") }
            switch typeFlag {
            case UInt8(ascii: "L"), UInt8(ascii: "K"), UInt8(ascii: "x"), UInt8(ascii: "g"):
                guard size <= 16 << 20 else { throw malformed("extended header of \(size) bytes at offset \(headerOffset)") }
                let body = try readBody(size)
                switch typeFlag {
                case UInt8(ascii: "L"): longName = cString(body[...])
                case UInt8(ascii: "K"): longLink = cString(body[...])
                case UInt8(ascii: "x"): try parsePAX(body, into: &pax, at: headerOffset)
                default: try parsePAX(body, into: &globalPAX, at: headerOffset)
                }
                continue
            default:
                break
            }
            let merged = globalPAX.merging(pax) { _, entry in entry }
            var path = longName ?? headerPath(header)
            if let value = merged["path"] { path = value }
            var linkTarget = longLink ?? cString(header[157..<257])
            if let value = merged["linkpath"] { linkTarget = value }
            var entrySize = size
            if let value = merged["size"] {
                guard let parsed = Int64(value), parsed >= 0 else { throw malformed("bad PAX size \"\(value)\"") }
                entrySize = parsed
            }
            let mode = UInt32(truncatingIfNeeded: try number(header, 100, 8, field: "mode", at: headerOffset)) & 0o7777
            var uid = UInt32(truncatingIfNeeded: try number(header, 108, 8, field: "uid", at: headerOffset))
            var gid = UInt32(truncatingIfNeeded: try number(header, 116, 8, field: "gid", at: headerOffset))
            if let value = merged["uid"] { uid = UInt32(value) ?? uid }
            if let value = merged["gid"] { gid = UInt32(value) ?? gid }
            let major = UInt32(truncatingIfNeeded: try number(header, 329, 8, field: "devmajor", at: headerOffset))
            let minor = UInt32(truncatingIfNeeded: try number(header, 337, 8, field: "devminor", at: headerOffset))
            let kind: TarEntryKind
            switch typeFlag {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = path.hasSuffix("/") ? .directory : .regular
            case UInt8(ascii: "1"): kind = .hardLink
            case UInt8(ascii: "2"): kind = .symbolicLink
            case UInt8(ascii: "3"): kind = .characterDevice
            case UInt8(ascii: "4"): kind = .blockDevice
            case UInt8(ascii: "5"): kind = .directory
            case UInt8(ascii: "6"): kind = .fifo
            default:
                throw malformed("entry \(path) has unsupported type '\(Character(Unicode.Scalar(typeFlag)))' at offset \(headerOffset)")
            }
            // Links, devices, directories and fifos are header-only, whatever
            // their size field says (as GNU tar and Go's archive/tar read them).
            let storedSize: Int64 = kind == .regular ? entrySize : 0
            let dataSize = storedSize
            pendingData = LimitedStream(stream, limit: storedSize)
            pendingPadding = (512 - storedSize % 512) % 512
            dataOffset = position
            position += storedSize + pendingPadding
            defer { nextOrdinal += 1 }
            return TarEntry(path: path, kind: kind, mode: mode, uid: uid, gid: gid, size: dataSize,
                            linkTarget: linkTarget, deviceMajor: major, deviceMinor: minor, ordinal: nextOrdinal)
        }
    }

    private func skipPendingData() throws {
        if let pending = pendingData {
            let expected = pending.remaining
            if expected > 0, try pending.skip(expected) != expected {
                throw malformed("archive ends inside an entry's data")
            }
            pendingData = nil
        }
        if pendingPadding > 0 {
            // A missing final padding block is tolerated, as GNU tar does.
            _ = try stream.skip(pendingPadding)
            pendingPadding = 0
        }
    }

    private func readBody(_ size: Int64) throws -> [UInt8] {
        var body = [UInt8](repeating: 0, count: Int(size))
        let n = try body.withUnsafeMutableBytes { try stream.readFully(into: $0) }
        guard n == size else { throw malformed("archive ends inside an extended header") }
        let padding = (512 - size % 512) % 512
        _ = try stream.skip(padding)
        position += size + padding
        return body
    }

    private func parsePAX(_ body: [UInt8], into records: inout [String: String], at offset: Int64) throws {
        // Records are "<length> <key>=<value>\n", the length counting itself.
        var index = 0
        while index < body.count {
            if body[index] == 0 { break }
            var cursor = index
            var length = 0
            while cursor < body.count, body[cursor] >= 0x30, body[cursor] <= 0x39 {
                length = length * 10 + Int(body[cursor] - 0x30)
                cursor += 1
                // A record is never longer than the header holding it; stop before the digits overflow.
                guard length <= body.count else { throw malformed("bad PAX record at offset \(offset)") }
            }
            guard cursor < body.count, body[cursor] == 0x20, length > 0, index + length <= body.count,
                  body[index + length - 1] == 0x0a else {
                throw malformed("bad PAX record at offset \(offset)")
            }
            let record = body[(cursor + 1)..<(index + length - 1)]
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")) else {
                throw malformed("PAX record without '=' at offset \(offset)")
            }
            let key = String(decoding: record[record.startIndex..<equals], as: UTF8.self)
            let value = String(decoding: record[(equals + 1)...], as: UTF8.self)
            if value.isEmpty { records.removeValue(forKey: key) } else { records[key] = value }
            index += length
        }
    }

    private func headerPath(_ header: [UInt8]) -> String {
        let name = cString(header[0..<100])
        // ustar splits long names into prefix (345..<500) and name.
        if header[257..<262].elementsEqual(Array("ustar".utf8)) {
            let prefix = cString(header[345..<500])
            if !prefix.isEmpty { return prefix + "/" + name }
        }
        return name
    }

    private func verifyChecksum(_ header: [UInt8], at offset: Int64) throws {
        let stored = try number(header, 148, 8, field: "checksum", at: offset)
        var unsigned: Int64 = 0
        var signed: Int64 = 0
        for (i, byte) in header.enumerated() {
            let value = (148..<156).contains(i) ? UInt8(ascii: " ") : byte
            unsigned += Int64(value)
            signed += Int64(Int8(bitPattern: value))
        }
        guard stored == unsigned || stored == signed else {
            throw malformed("header checksum mismatch at offset \(offset) (not a tar archive, or corrupt)")
        }
    }

    /// Octal (NUL/space terminated) or GNU base-256 (high bit set).
    private func number(_ header: [UInt8], _ start: Int, _ length: Int, field: String, at offset: Int64) throws -> Int64 {
        let bytes = header[start..<(start + length)]
        if let first = bytes.first, first & 0x80 != 0 {
            var value: Int64 = Int64(first & 0x3f)
            for byte in bytes.dropFirst() {
                guard value < (Int64.max >> 8) else { throw malformed("\(field) overflows at offset \(offset)") }
                value = value << 8 | Int64(byte)
            }
            return (first & 0x40) != 0 ? -value : value
        }
        var value: Int64 = 0
        var seenDigit = false
        for byte in bytes {
            if byte == 0 || (byte == 0x20 && seenDigit) { break }
            if byte == 0x20 { continue }
            guard byte >= 0x30, byte <= 0x37 else {
                throw malformed("bad octal \(field) field at offset \(offset)")
            }
            seenDigit = true
            guard value < (Int64.max >> 3) else { throw malformed("\(field) overflows at offset \(offset)") }
            value = value * 8 + Int64(byte - 0x30)
        }
        return value
    }

    private func cString(_ bytes: ArraySlice<UInt8>) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
        return String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
    }

    private func malformed(_ reason: String) -> ContainerImageError {
        .malformedArchive(file: name, reason: reason)
    }
}
