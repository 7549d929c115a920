// libFuzzer target: the newc cpio writer, written then parsed back.
//
// Input: up to 32 entries, each
//   [type u8][permissions u16][uid u32][gid u32][inode u32][links u8]
//   [major u16][minor u16][name length u8][name][data length u16][data]
// type % 6 picks fifo, char device, directory, block device, regular file,
// symlink; type bit 6 claims a size past newc's 4 GiB limit. Data shorter
// than its length makes the writer's stream end early.
//
// The archive is parsed back the way Linux's init/initramfs.c reads it (an
// independent parser below: "070701", 13 hex fields, the name up to its
// NUL, 4-byte alignment, "TRAILER!!!" ends it) and must give back exactly
// the entries written; an error the writer throws must be unrepresentable
// (over 4 GiB, data ending early, or a name with a NUL once bug 5 is
// fixed), and what it wrote before must still parse.

@_cdecl("LLVMFuzzerTestOneInput")
public func cpioFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let types: [CpioFileType] = [.fifo, .characterDevice, .directory, .blockDevice, .regular, .symbolicLink]
    let sink = FuzzSink()
    let writer = CpioWriter(sink: sink)
    var written: [(header: CpioHeader, data: [UInt8])] = []
    var failed = false
    while input.remaining > 0 && written.count < 32 {
        let typeByte = input.u8()
        var header = CpioHeader(path: "", type: types[Int(typeByte) % types.count], permissions: UInt32(input.u16()),
                                inode: 0)
        header.uid = input.u32()
        header.gid = input.u32()
        header.inode = input.u32()
        header.linkCount = UInt32(input.u8())
        header.deviceMajor = UInt32(input.u16())
        header.deviceMinor = UInt32(input.u16())
        var name = input.take(Int(input.u8()))
        // Known bug 5 (Fuzz/README.md, cpio-crash-240f...): the writer puts a name with a NUL
        // byte in the archive as it is, and the kernel reads it only up to the NUL.
        if knownBugsSkipped { name.removeAll { $0 == 0 } }
        header.path = String(decoding: name, as: UTF8.self)
        let length = Int(input.u16())
        let contents = input.take(length)
        header.size = typeByte & 0x40 != 0 ? Int64(UInt32.max) + 1 + Int64(length) : Int64(length)
        do {
            try writer.write(header, data: MemoryStream(contents))
        } catch let error as ContainerImageError {
            guard case .unrepresentable = error else { fatalError("unexpected error \(error)") }
            expect(header.size > Int64(UInt32.max) || contents.count < length || header.path.utf8.contains(0),
                   "refused a representable entry: \(error)")
            failed = true
            break
        } catch {
            fatalError("unexpected error \(error)")
        }
        expect(header.size <= Int64(UInt32.max) && contents.count == length, "wrote an entry it should have refused")
        written.append((header, contents))
    }
    if !failed {
        do { try writer.writeTrailer() } catch { fatalError("trailer: \(error)") }
    }

    let parsed = parseNewc(sink.bytes, expectTrailer: !failed)
    expect(parsed.count == written.count, "wrote \(written.count) entries, the kernel would read \(parsed.count)")
    for (index, (entry, expected)) in zip(parsed, written).enumerated() {
        let header = expected.header
        expect(entry.name == Array(header.path.utf8), "entry \(index): name")
        expect(entry.fields[0] == header.inode, "entry \(index): ino")
        expect(entry.fields[1] == header.type.rawValue | header.permissions & 0o7777, "entry \(index): mode")
        expect(entry.fields[2] == header.uid && entry.fields[3] == header.gid, "entry \(index): owner")
        expect(entry.fields[4] == header.linkCount, "entry \(index): nlink")
        expect(entry.fields[5] == 0, "entry \(index): mtime")
        expect(entry.fields[7] == 0 && entry.fields[8] == 0, "entry \(index): dev")
        expect(entry.fields[9] == header.deviceMajor && entry.fields[10] == header.deviceMinor, "entry \(index): rdev")
        expect(entry.data == expected.data, "entry \(index): data")
    }
    return 0
}

struct NewcEntry {
    var fields: [UInt32]
    var name: [UInt8]
    var data: [UInt8]
}

/// init/initramfs.c, read_into/do_header/do_name: what the kernel makes of an archive.
func parseNewc(_ bytes: [UInt8], expectTrailer: Bool) -> [NewcEntry] {
    var entries: [NewcEntry] = []
    var offset = 0
    func align(_ value: Int) -> Int { (value + 3) & ~3 }
    while offset < bytes.count {
        guard bytes.count - offset >= 110 else {
            // Only an archive cut short by a refused entry may end mid-header.
            expect(!expectTrailer, "truncated header at \(offset)")
            return entries
        }
        expect(Array(bytes[offset..<(offset + 6)]) == Array("070701".utf8), "bad magic at \(offset)")
        var fields: [UInt32] = []
        for field in 0..<13 {
            var value: UInt32 = 0
            for digit in bytes[(offset + 6 + 8 * field)..<(offset + 14 + 8 * field)] {
                let nibble: UInt8
                switch digit {
                case 0x30...0x39: nibble = digit - 0x30
                case 0x41...0x46: nibble = digit - 0x41 + 10
                case 0x61...0x66: nibble = digit - 0x61 + 10
                default: fatalError("fuzz invariant failed: non-hex header digit at \(offset)")
                }
                value = value << 4 | UInt32(nibble)
            }
            fields.append(value)
        }
        expect(fields[12] == 0, "check field")
        let nameSize = Int(fields[11])
        let nameStart = offset + 110
        expect(nameSize >= 1 && nameStart + nameSize <= bytes.count, "name past the end at \(offset)")
        let rawName = bytes[nameStart..<(nameStart + nameSize)]
        expect(rawName.last == 0, "name not NUL-terminated")
        let name = Array(rawName.prefix { $0 != 0 })
        let dataStart = align(nameStart + nameSize)
        for pad in (nameStart + nameSize)..<min(dataStart, bytes.count) { expect(bytes[pad] == 0, "name padding") }
        if name == Array("TRAILER!!!".utf8) {
            expect(expectTrailer, "a trailer in an archive the writer did not finish")
            expect(align(dataStart + Int(fields[6])) == bytes.count, "bytes after the trailer")
            return entries
        }
        let dataEnd = dataStart + Int(fields[6])
        if dataEnd > bytes.count {
            // The entry whose data stream ended early: the writer stopped inside it.
            expect(!expectTrailer, "data past the end")
            return entries
        }
        for pad in dataEnd..<min(align(dataEnd), bytes.count) { expect(bytes[pad] == 0, "data padding") }
        entries.append(NewcEntry(fields: fields, name: name, data: Array(bytes[dataStart..<dataEnd])))
        offset = align(dataEnd)
    }
    expect(!expectTrailer, "no trailer")
    return entries
}
