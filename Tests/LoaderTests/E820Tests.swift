// The e820 memory map: fw_cfg etc/e820 (QEMU hw/i386/e820_memory_layout.c),
// the CMOS fallback (hw/i386/microvm.c), the firmware's reservations, and the
// boot_params encoding.

import Testing
@testable import Loader

/// etc/e820 bytes: {le64 addr, le64 size, le32 type} per entry.
func etcE820(_ entries: [(UInt64, UInt64, UInt32)]) -> [UInt8] {
    entries.flatMap { littleEndianBytes($0.0) + littleEndianBytes($0.1) + littleEndianBytes($0.2) }
}

func parseE820(_ bytes: [UInt8]) throws -> E820Map {
    try bytes.withUnsafeBytes { buffer in try E820Map(etcE820: buffer) }
}

func ram(_ start: UInt64, _ end: UInt64) -> E820Entry { E820Entry(PhysicalRegion(start: start, end: end), .ram) }
func reserved(_ start: UInt64, _ end: UInt64) -> E820Entry { E820Entry(PhysicalRegion(start: start, end: end), .reserved) }

/// CMOS contents as QEMU's microvm_set_rtc writes them for a given RAM split.
func qemuCMOS(belowFourGiB: UInt64, aboveFourGiB: UInt64) -> [UInt8: UInt8] {
    let above1M = min(belowFourGiB > mebibyte ? (belowFourGiB - mebibyte) / kibibyte : 0, 65535)
    let above16M = min(belowFourGiB > 16 * mebibyte ? (belowFourGiB - 16 * mebibyte) / (64 * kibibyte) : 0, 65535)
    let high = aboveFourGiB / (64 * kibibyte)
    return [0x30: UInt8(above1M & 0xFF), 0x31: UInt8(above1M >> 8),
            0x34: UInt8(above16M & 0xFF), 0x35: UInt8(above16M >> 8),
            0x5B: UInt8(high & 0xFF), 0x5C: UInt8(high >> 8 & 0xFF), 0x5D: UInt8(high >> 16 & 0xFF)]
}

let gib = gibibyte, mib = mebibyte

@Suite("e820: etc/e820")
struct E820ParsingTests {
    @Test("etc/e820 with one entry 0..1G parses to one RAM entry")
    func oneEntry() throws {
        let map = try parseE820(etcE820([(0, gib, 1)]))
        #expect(map.entries == [ram(0, gib)])
        #expect(map.totalRAM == gib)
    }

    @Test("etc/e820 whose size is not a multiple of 20 bytes is malformed", arguments: [1, 19, 21, 39])
    func notMultipleOf20(size: Int) {
        let bytes = [UInt8](etcE820([(0, gib, 1), (4 * gib, gib, 1)]).prefix(size))
        #expect(throws: BootError.e820Malformed(size: UInt64(size))) { try parseE820(bytes) }
    }

    @Test("an empty etc/e820 gives a map with no RAM")
    func emptyFile() throws {
        let map = try parseE820([])
        #expect(map.entries.isEmpty)
        #expect(map.totalRAM == 0)
    }

    @Test("-m 8G as QEMU describes it (0..3G and 4G..9G) keeps the hole below 4 GiB")
    func largeMemory() throws {
        let map = try parseE820(etcE820([(0, 3 * gib, 1), (4 * gib, 5 * gib, 1)]))
        #expect(map.entries == [ram(0, 3 * gib), ram(4 * gib, 9 * gib)])
        #expect(map.totalRAM == 8 * gib)
        #expect(map.isUsable(PhysicalRegion(start: 3 * gib - 4096, end: 3 * gib)))
        #expect(!map.isUsable(PhysicalRegion(start: 3 * gib - 4096, end: 3 * gib + 4096)))
        #expect(!map.isUsable(PhysicalRegion(start: 3 * gib + 4096, end: 3 * gib + 8192)))
        #expect(map.isUsable(PhysicalRegion(start: 4 * gib, end: 9 * gib)))
    }

    @Test("entries in any order come out sorted")
    func sorted() throws {
        let map = try parseE820(etcE820([(4 * gib, gib, 1), (0, 3 * gib, 1)]))
        #expect(map.entries == [ram(0, 3 * gib), ram(4 * gib, 5 * gib)])
    }

    @Test("empty entries are dropped")
    func emptyEntriesDropped() throws {
        let map = try parseE820(etcE820([(0, gib, 1), (2 * gib, 0, 2)]))
        #expect(map.entries == [ram(0, gib)])
    }
}

@Suite("e820: normalising")
struct E820NormalisingTests {
    @Test("where entries overlap, the higher type wins")
    func higherTypeWins() {
        let map = E820Map([ram(0, gib), reserved(100 * mib, 200 * mib),
                           E820Entry(PhysicalRegion(start: 150 * mib, end: 250 * mib), .acpi)])
        #expect(map.entries == [ram(0, 100 * mib), reserved(100 * mib, 150 * mib),
                                E820Entry(PhysicalRegion(start: 150 * mib, end: 250 * mib), .acpi),
                                ram(250 * mib, gib)])
    }

    @Test("RAM inside a reserved entry stays reserved, whatever the order given")
    func reservedBeatsRAMInAnyOrder() {
        #expect(E820Map([reserved(0, 2 * mib), ram(mib, 3 * mib)]).entries == [reserved(0, 2 * mib), ram(2 * mib, 3 * mib)])
        #expect(E820Map([ram(mib, 3 * mib), reserved(0, 2 * mib)]).entries == [reserved(0, 2 * mib), ram(2 * mib, 3 * mib)])
    }

    @Test("adjacent and overlapping entries of one type merge")
    func equalNeighboursMerge() {
        #expect(E820Map([ram(0, mib), ram(mib, 2 * mib)]).entries == [ram(0, 2 * mib)])
        #expect(E820Map([ram(0, 3 * mib), ram(mib, 2 * mib), ram(2 * mib, 5 * mib)]).entries == [ram(0, 5 * mib)])
        #expect(E820Map([reserved(0, mib), reserved(mib, 2 * mib)]).entries == [reserved(0, 2 * mib)])
    }

    @Test("entries of one type separated by a gap do not merge")
    func gapsStay() {
        #expect(E820Map([ram(0, mib), ram(2 * mib, 3 * mib)]).entries == [ram(0, mib), ram(2 * mib, 3 * mib)])
    }

    @Test("reserving the firmware region and the legacy area splits the RAM entry (-m 1G)")
    func reservationsSplitRAM() throws {
        var map = try parseE820(etcE820([(0, gib, 1)]))
        map.reserve(PhysicalRegion(start: 0, end: 0x8_0000))           // memory_layout.h: STAGE0_RAM_BASE..END
        map.reserve(PhysicalRegion(start: 0xA_0000, end: 0x10_0000))   // VGA and BIOS area
        #expect(map.entries == [reserved(0, 0x8_0000), ram(0x8_0000, 0xA_0000),
                                reserved(0xA_0000, 0x10_0000), ram(0x10_0000, gib)])
        #expect(map.totalRAM == gib - 0x8_0000 - 0x6_0000)
    }

    @Test("the same reservations on a small machine (-m 128M)")
    func smallMachine() {
        let map = microvmMap(ram: 128 * mib)
        #expect(map.entries == [reserved(0, 0x8_0000), ram(0x8_0000, 0xA_0000),
                                reserved(0xA_0000, 0x10_0000), ram(0x10_0000, 128 * mib)])
        #expect(map.usableRegions == [PhysicalRegion(start: 0x8_0000, end: 0xA_0000),
                                      PhysicalRegion(start: 0x10_0000, end: 128 * mib)])
    }

    @Test("the same reservations on a large machine (-m 8G) leave both RAM ranges around the 3G..4G hole")
    func largeMachine() throws {
        var map = try parseE820(etcE820([(0, 3 * gib, 1), (4 * gib, 5 * gib, 1)]))
        map.reserve(PhysicalRegion(start: 0, end: 0x8_0000))
        map.reserve(PhysicalRegion(start: 0xA_0000, end: 0x10_0000))
        #expect(map.entries == [reserved(0, 0x8_0000), ram(0x8_0000, 0xA_0000), reserved(0xA_0000, 0x10_0000),
                                ram(0x10_0000, 3 * gib), ram(4 * gib, 9 * gib)])
    }

    @Test("reserving a range inside RAM splits it in two around the range")
    func reserveInTheMiddle() {
        var map = E820Map([ram(0, gib)])
        map.reserve(PhysicalRegion(start: 512 * mib, end: 513 * mib), as: .acpi)
        #expect(map.entries == [ram(0, 512 * mib), E820Entry(PhysicalRegion(start: 512 * mib, end: 513 * mib), .acpi),
                                ram(513 * mib, gib)])
        #expect(!map.isUsable(PhysicalRegion(start: 511 * mib, end: 514 * mib)))
    }

    @Test("isUsable: inside one RAM entry yes, straddling two entries or past the end no, empty yes")
    func isUsable() {
        let map = microvmMap(ram: 128 * mib)
        #expect(map.isUsable(PhysicalRegion(start: mib, end: 128 * mib)))
        #expect(!map.isUsable(PhysicalRegion(start: mib, end: 128 * mib + 1)))
        #expect(!map.isUsable(PhysicalRegion(start: 0x9_F000, end: 0x10_1000)))
        #expect(!map.isUsable(PhysicalRegion(start: 0x7_0000, end: 0x7_1000)))
        #expect(map.isUsable(PhysicalRegion(start: 200 * mib, end: 200 * mib)))
    }
}

@Suite("e820: CMOS fallback")
struct E820CMOSTests {
    func map(_ cmos: [UInt8: UInt8]) -> E820Map { E820Map(cmos: { cmos[$0] ?? 0 }) }

    @Test("-m 512M: 0x34/0x35 hold (512M - 16M) / 64K")
    func halfGiB() {
        let cmos = qemuCMOS(belowFourGiB: 512 * mib, aboveFourGiB: 0)
        #expect(cmos[0x34] == 0x00 && cmos[0x35] == 0x1F)     // 7936 = 0x1F00
        #expect(map(cmos).entries == [ram(0, 512 * mib)])
    }

    @Test("-m 4G on microvm: 3G below 4 GiB in 0x34/0x35, 1G above 4 GiB in 0x5B..0x5D")
    func fourGiB() {
        let cmos = qemuCMOS(belowFourGiB: 3 * gib, aboveFourGiB: gib)
        #expect(cmos[0x34] == 0x00 && cmos[0x35] == 0xBF)     // (3G - 16M) / 64K = 0xBF00
        #expect(cmos[0x5B] == 0x00 && cmos[0x5C] == 0x40 && cmos[0x5D] == 0x00)
        #expect(map(cmos).entries == [ram(0, 3 * gib), ram(4 * gib, 5 * gib)])
    }

    @Test("-m 8G on microvm: 5G above 4 GiB needs the third byte, 0x5D")
    func eightGiB() {
        let cmos = qemuCMOS(belowFourGiB: 3 * gib, aboveFourGiB: 5 * gib)
        #expect(cmos[0x5D] == 0x01)                           // 5G / 64K = 0x14000
        #expect(map(cmos).entries == [ram(0, 3 * gib), ram(4 * gib, 9 * gib)])
    }

    @Test("RAM below 16 MiB (-m 8M) comes from 0x30/0x31, in KiB above 1 MiB")
    func belowSixteenMiB() {
        let cmos = qemuCMOS(belowFourGiB: 8 * mib, aboveFourGiB: 0)
        #expect(cmos[0x34] == 0 && cmos[0x35] == 0)
        #expect(cmos[0x30] == 0x00 && cmos[0x31] == 0x1C)     // 7168 KiB
        #expect(map(cmos).entries == [ram(0, 8 * mib)])
    }

    @Test("exactly 16 MiB: 0x34/0x35 are 0 and 0x30/0x31 give 15 MiB above 1 MiB")
    func exactlySixteenMiB() {
        #expect(map(qemuCMOS(belowFourGiB: 16 * mib, aboveFourGiB: 0)).entries == [ram(0, 16 * mib)])
    }
}

@Suite("e820: encoding for boot_params")
struct E820EncodingTests {
    @Test("encode writes 20-byte little-endian {addr, size, type} entries and returns the count")
    func encode() throws {
        let map = E820Map([ram(0x10_0000, 3 * gib), reserved(0, 0x8_0000), ram(4 * gib, 9 * gib)])
        var table = [UInt8](repeating: 0xCC, count: 80)
        let count = try table.withUnsafeMutableBytes { buffer in
            try map.encode(into: buffer, maximumEntries: 4)
        }
        #expect(count == 3)
        #expect(Array(table[0..<60]) == etcE820([(0, 0x8_0000, 2), (0x10_0000, 3 * gib - 0x10_0000, 1),
                                                 (4 * gib, 5 * gib, 1)]))
        #expect(Array(table[0..<20]) == [0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 8, 0, 0, 0, 0, 0,  2, 0, 0, 0])
        #expect(Array(table[60...]) == [UInt8](repeating: 0xCC, count: 20))
    }

    @Test("encode rejects a map with more entries than the table holds, writing nothing")
    func encodeTooMany() {
        let map = E820Map([ram(0, mib), ram(2 * mib, 3 * mib), ram(4 * mib, 5 * mib)])
        var table = [UInt8](repeating: 0xCC, count: 40)
        #expect(throws: BootError.e820TooManyEntries(count: 3, limit: 2)) {
            try table.withUnsafeMutableBytes { buffer in
                _ = try map.encode(into: buffer, maximumEntries: 2)
            }
        }
        #expect(table == [UInt8](repeating: 0xCC, count: 40))
    }

    @Test("etc/e820 bytes survive parse and encode unchanged")
    func roundTrip() throws {
        let bytes = etcE820([(0, 3 * gib, 1), (4 * gib, 5 * gib, 1)])
        let map = try parseE820(bytes)
        var table = [UInt8](repeating: 0, count: 40)
        _ = try table.withUnsafeMutableBytes { buffer in try map.encode(into: buffer, maximumEntries: 2) }
        #expect(table == bytes)
    }
}
