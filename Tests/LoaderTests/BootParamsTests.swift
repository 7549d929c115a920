// boot_params, the zero page: offsets pinned with the literal numbers of
// Documentation/arch/x86/zero-page.rst and boot.rst, and the written page
// checked byte by byte at those offsets.

import Testing
@testable import Loader

@Suite("boot_params layout")
struct BootParamsLayoutTests {
    @Test("zero-page.rst offsets: acpi_rsdp_addr 0x070, ext_* 0x0C0/0x0C4/0x0C8, e820_entries 0x1E8, sentinel 0x1EF, e820_table 0x2D0")
    func zeroPageOffsets() {
        #expect(BootParamsLayout.size == 4096)
        #expect(BootParamsLayout.acpiRSDPAddress == 0x070)
        #expect(BootParamsLayout.extRamdiskImage == 0x0C0)
        #expect(BootParamsLayout.extRamdiskSize == 0x0C4)
        #expect(BootParamsLayout.extCmdLinePointer == 0x0C8)
        #expect(BootParamsLayout.e820EntryCount == 0x1E8)
        #expect(BootParamsLayout.sentinel == 0x1EF)
        #expect(BootParamsLayout.setupSectors == 0x1F1)
        #expect(BootParamsLayout.e820Table == 0x2D0)
        #expect(BootParamsLayout.e820TableEntries == 128)        // E820_MAX_ENTRIES_ZEROPAGE
        #expect(E820Entry.encodedSize == 20)
        // The table ends at 0xCD0, where _pad8 begins (eddbuf follows at 0xD00).
        #expect(BootParamsLayout.e820Table + 128 * 20 == 0xCD0)
    }

    @Test("boot.rst setup header offsets, 0x1F1 to 0x260")
    func setupHeaderOffsets() {
        #expect(BootParamsLayout.bootFlag == 0x1FE)
        #expect(BootParamsLayout.headerMagic == 0x202)
        #expect(BootParamsLayout.protocolVersion == 0x206)
        #expect(BootParamsLayout.typeOfLoader == 0x210)
        #expect(BootParamsLayout.loadFlags == 0x211)
        #expect(BootParamsLayout.code32Start == 0x214)
        #expect(BootParamsLayout.ramdiskImage == 0x218)
        #expect(BootParamsLayout.ramdiskSize == 0x21C)
        #expect(BootParamsLayout.cmdLinePointer == 0x228)
        #expect(BootParamsLayout.initrdAddressMax == 0x22C)
        #expect(BootParamsLayout.kernelAlignment == 0x230)
        #expect(BootParamsLayout.relocatableKernel == 0x234)
        #expect(BootParamsLayout.xloadFlags == 0x236)
        #expect(BootParamsLayout.cmdlineSize == 0x238)
        #expect(BootParamsLayout.setupData == 0x250)
        #expect(BootParamsLayout.preferredAddress == 0x258)
        #expect(BootParamsLayout.initSize == 0x260)
    }

    @Test("boot.rst values: boot_flag 0xAA55, \"HdrS\", protocol 2.15, type_of_loader 0xFF, LOADED_HIGH bit 0")
    func values() {
        #expect(BootParamsLayout.bootFlagValue == 0xAA55)
        #expect(littleEndianBytes(BootParamsLayout.headerMagicValue) == Array("HdrS".utf8))
        #expect(BootParamsLayout.implementedProtocol == 0x020F)
        #expect(BootParamsLayout.loaderTypeUndefined == 0xFF)
        #expect(BootParamsLayout.loadFlagLoadedHigh == 0x01)
        #expect(BootParamsLayout.defaultCommandLineLimit == 2047)      // COMMAND_LINE_SIZE 2048 less the NUL
        #expect(BootParamsLayout.defaultInitrdAddressMax == 0x7FFF_FFFF)
    }
}

/// The page the loader should write, built by hand at literal offsets.
struct ExpectedPage {
    var bytes = [UInt8](repeating: 0, count: 4096)
    mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) { bytes.store(value, at: offset) }

    /// Fields every page carries.
    init(commandLine: UInt64) {
        put(UInt16(0xAA55), at: 0x1FE)
        bytes.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
        put(UInt16(0x020F), at: 0x206)
        put(UInt8(0xFF), at: 0x210)
        put(UInt8(0x01), at: 0x211)
        put(UInt32(truncatingIfNeeded: commandLine), at: 0x228)
        put(UInt32(truncatingIfNeeded: commandLine >> 32), at: 0x0C8)
        put(UInt32(0x7FFF_FFFF), at: 0x22C)
        put(UInt32(2047), at: 0x238)
    }
}

func writePage(_ params: BootParams, prefill: UInt8 = 0xCC) throws -> [UInt8] {
    var page = [UInt8](repeating: prefill, count: 4096)
    try page.withUnsafeMutableBytes { buffer in try params.write(into: buffer) }
    return page
}

/// The offsets where two pages differ, for a readable failure.
func differences(_ a: [UInt8], _ b: [UInt8]) -> [String] {
    var found: [String] = []
    for offset in 0..<min(a.count, b.count) where a[offset] != b[offset] {
        found.append(Text.hex(UInt64(offset)) + ": " + Text.hex(UInt64(a[offset])) + " != " + Text.hex(UInt64(b[offset])))
    }
    return found
}

@Suite("boot_params contents")
struct BootParamsWriteTests {
    let map = microvmMap(ram: 512 * mebibyte)

    @Test("the header fields sit at their boot.rst offsets")
    func headerFields() throws {
        let page = try writePage(BootParams(commandLine: PhysicalAddress(0x8000), ramdisk: nil, memoryMap: map))
        #expect(Array(page[0x1FE...0x1FF]) == [0x55, 0xAA])
        #expect(Array(page[0x202...0x205]) == [0x48, 0x64, 0x72, 0x53])   // "HdrS"
        #expect(page[0x210] == 0xFF)                                      // type_of_loader: undefined
        #expect(page[0x211] & 0x01 == 0x01)                               // loadflags: LOADED_HIGH
        #expect(Array(page[0x228...0x22B]) == [0x00, 0x80, 0x00, 0x00])   // cmd_line_ptr
        #expect(Array(page[0x238...0x23B]) == [0xFF, 0x07, 0x00, 0x00])   // cmdline_size 2047
        #expect(page[0x1EF] == 0)                                         // sentinel
    }

    @Test("the ramdisk's address and size go to ramdisk_image 0x218 and ramdisk_size 0x21C")
    func ramdiskFields() throws {
        let ramdisk = PhysicalRegion(start: PhysicalAddress(0x3FE1_B000), size: 0x1E_4DD8)
        let page = try writePage(BootParams(commandLine: PhysicalAddress(0x8000), ramdisk: ramdisk, memoryMap: map))
        #expect(Array(page[0x218...0x21B]) == [0x00, 0xB0, 0xE1, 0x3F])
        #expect(Array(page[0x21C...0x21F]) == [0xD8, 0x4D, 0x1E, 0x00])
        #expect(Array(page[0x0C0...0x0CB]) == [UInt8](repeating: 0, count: 12))   // no high halves
    }

    @Test("addresses above 4 GiB put their high halves in ext_ramdisk_image, ext_ramdisk_size and ext_cmd_line_ptr")
    func highHalves() throws {
        let ramdisk = PhysicalRegion(start: PhysicalAddress(0x2_3456_7000), size: 0x1_0000_0010)
        let page = try writePage(BootParams(commandLine: PhysicalAddress(0x5_0000_8000), ramdisk: ramdisk, memoryMap: map))
        #expect(Array(page[0x218...0x21B]) == [0x00, 0x70, 0x56, 0x34])
        #expect(Array(page[0x0C0...0x0C3]) == [0x02, 0x00, 0x00, 0x00])
        #expect(Array(page[0x21C...0x21F]) == [0x10, 0x00, 0x00, 0x00])
        #expect(Array(page[0x0C4...0x0C7]) == [0x01, 0x00, 0x00, 0x00])
        #expect(Array(page[0x228...0x22B]) == [0x00, 0x80, 0x00, 0x00])
        #expect(Array(page[0x0C8...0x0CB]) == [0x05, 0x00, 0x00, 0x00])
    }

    @Test("the ACPI RSDP address goes to acpi_rsdp_addr at 0x070, as a u64")
    func rsdp() throws {
        let page = try writePage(BootParams(commandLine: PhysicalAddress(0x8000), ramdisk: nil, memoryMap: map,
                                            acpiRSDP: PhysicalAddress(0xF_5A30)))
        #expect(Array(page[0x070...0x077]) == [0x30, 0x5A, 0x0F, 0x00, 0x00, 0x00, 0x00, 0x00])
        let none = try writePage(BootParams(commandLine: PhysicalAddress(0x8000), ramdisk: nil, memoryMap: map))
        #expect(Array(none[0x070...0x077]) == [UInt8](repeating: 0, count: 8))
    }

    @Test("the memory map goes to e820_table at 0x2D0 with its count in e820_entries at 0x1E8")
    func e820() throws {
        let page = try writePage(BootParams(commandLine: PhysicalAddress(0x8000), ramdisk: nil, memoryMap: map))
        #expect(page[0x1E8] == 4)
        #expect(Array(page[0x2D0..<(0x2D0 + 80)]) == etcE820([
            (0, 0x8_0000, 2), (0x8_0000, 0x2_0000, 1), (0xA_0000, 0x6_0000, 2), (0x10_0000, 511 * mebibyte, 1),
        ]))
        #expect(page[(0x2D0 + 80)..<0xCD0].allSatisfy { $0 == 0 })
    }

    @Test("everything else is zero: the whole page equals one built by hand at the literal offsets")
    func wholePage() throws {
        let ramdisk = PhysicalRegion(start: PhysicalAddress(0x3FE1_B000), size: 0x1E_4DD8)
        let page = try writePage(BootParams(commandLine: PhysicalAddress(0x8000), ramdisk: ramdisk, memoryMap: map,
                                            acpiRSDP: PhysicalAddress(0xF_5A30)))
        var expected = ExpectedPage(commandLine: 0x8000)
        expected.put(UInt32(0x3FE1_B000), at: 0x218)
        expected.put(UInt32(0x1E_4DD8), at: 0x21C)
        expected.put(UInt64(0xF_5A30), at: 0x070)
        expected.put(UInt8(4), at: 0x1E8)
        expected.bytes.replaceSubrange(0x2D0..<(0x2D0 + 80), with: etcE820([
            (0, 0x8_0000, 2), (0x8_0000, 0x2_0000, 1), (0xA_0000, 0x6_0000, 2), (0x10_0000, 511 * mebibyte, 1),
        ]))
        #expect(differences(page, expected.bytes) == [])
    }

    @Test("a map of 128 entries fills the table; 129 entries are rejected")
    func tableLimit() throws {
        let full = E820Map((0..<128).map { ram(UInt64($0) * 2 * mebibyte, UInt64($0) * 2 * mebibyte + mebibyte) })
        let page = try writePage(BootParams(commandLine: PhysicalAddress(0x8000), ramdisk: nil, memoryMap: full))
        #expect(page[0x1E8] == 128)
        #expect(Array(page[(0xCD0 - 20)..<0xCD0]) == etcE820([(127 * 2 * mebibyte, mebibyte, 1)]))
        #expect(page[0xCD0...].allSatisfy { $0 == 0 })

        let tooMany = E820Map((0..<129).map { ram(UInt64($0) * 2 * mebibyte, UInt64($0) * 2 * mebibyte + mebibyte) })
        #expect(throws: BootError.e820TooManyEntries(count: 129, limit: 128)) {
            try writePage(BootParams(commandLine: PhysicalAddress(0x8000), ramdisk: nil, memoryMap: tooMany))
        }
    }
}
