// boot_params for a bzImage: the kernel's own setup header copied in
// (boot.rst, "Details of Header Fields": bytes 0x1F1 up to 0x202 + byte[0x201]),
// then the fields the loader decides, at their literal offsets.

import Testing
@testable import Loader

/// Writes the page for `header` (as the firmware passes it: sliced to its end).
func writeBzImagePage(_ header: [UInt8] = DebianBzImage.setupHeader, commandLine: UInt64 = 0x8000,
                      ramdisk: PhysicalRegion? = nil, acpiRSDP: PhysicalAddress? = nil,
                      map: E820Map = microvmMap(ram: 512 * mebibyte)) throws -> [UInt8] {
    try header.withUnsafeBytes { bytes in
        try writePage(BootParams(commandLine: PhysicalAddress(commandLine), ramdisk: ramdisk, memoryMap: map,
                                 acpiRSDP: acpiRSDP, setupHeader: bytes, code32Start: BzImage.loadAddress))
    }
}

/// A value as little-endian bytes, for comparing a field of the page.
func field<T: FixedWidthInteger>(_ page: [UInt8], _ offset: Int, _: T.Type) -> T {
    page[offset..<(offset + MemoryLayout<T>.size)].reversed().reduce(T(0)) { $0 << 8 | T($1) }
}

@Suite("boot_params for a bzImage")
struct BootParamsBzImageTests {
    static let ramdisk = PhysicalRegion(start: PhysicalAddress(0x1FE0_0000), size: 0x1E_4DD8)

    /// type_of_loader, loadflags, code32_start, ramdisk_image, ramdisk_size, cmd_line_ptr.
    static let loaderFields: Set<Int> = Set([0x210, 0x211]).union(0x214..<0x220).union(0x228..<0x22C)

    @Test("bytes 0x1F1..<0x26C are the kernel's setup header, except the fields the loader sets")
    func headerIsCopied() throws {
        let page = try writeBzImagePage(ramdisk: Self.ramdisk)
        let header = DebianBzImage.header
        let changed = (0x1F1..<0x26C).filter { page[$0] != header[$0] && !Self.loaderFields.contains($0) }
        #expect(changed.map { Text.hex(UInt64($0)) } == [])
    }

    @Test("type_of_loader 0x210 is 0xFF (the kernel's header has 0)")
    func typeOfLoader() throws {
        #expect(DebianBzImage.header[0x210] == 0)
        #expect(try writeBzImagePage()[0x210] == 0xFF)
    }

    @Test("loadflags 0x211 gets LOADED_HIGH (bit 0) even when the header lacks it, keeping the other bits")
    func loadFlagsLoadedHigh() throws {
        #expect(try writeBzImagePage()[0x211] == 0x01)
        #expect(try writeBzImagePage(DebianBzImage.setupHeader.storing(UInt8(0x00), at: 0x211))[0x211] == 0x01)
        #expect(try writeBzImagePage(DebianBzImage.setupHeader.storing(UInt8(0xA0), at: 0x211))[0x211] == 0xA1)
    }

    @Test("cmd_line_ptr 0x228 is the command line's address, ext_cmd_line_ptr 0x0C8 its high half")
    func commandLinePointer() throws {
        let page = try writeBzImagePage(commandLine: 0x8000)
        #expect(field(page, 0x228, UInt32.self) == 0x8000)
        #expect(field(page, 0x0C8, UInt32.self) == 0)
    }

    @Test("ramdisk_image 0x218 and ramdisk_size 0x21C are the ramdisk's")
    func ramdiskFields() throws {
        let page = try writeBzImagePage(ramdisk: Self.ramdisk)
        #expect(field(page, 0x218, UInt32.self) == 0x1FE0_0000)
        #expect(field(page, 0x21C, UInt32.self) == 0x1E_4DD8)
    }

    @Test("code32_start 0x214 is the load address 0x100000, whatever the header held")
    func code32Start() throws {
        #expect(try field(writeBzImagePage(), 0x214, UInt32.self) == 0x10_0000)
        let moved = DebianBzImage.setupHeader.storing(UInt32(0x20_0000), at: 0x214)
        #expect(try field(writeBzImagePage(moved), 0x214, UInt32.self) == 0x10_0000)
    }

    @Test("cmdline_size 0x238 and initrd_addr_max 0x22C are the kernel's, not the ELF defaults 2047 and 0x7fffffff")
    func limitsKeptFromKernel() throws {
        // Debian's values happen to equal the defaults; a kernel with others keeps them.
        let real = try writeBzImagePage()
        #expect(field(real, 0x238, UInt32.self) == 0x7FF)
        #expect(field(real, 0x22C, UInt32.self) == 0x7FFF_FFFF)
        let other = DebianBzImage.setupHeader.storing(UInt32(0xFFF), at: 0x238).storing(UInt32(0x37FF_FFFF), at: 0x22C)
        let page = try writeBzImagePage(other)
        #expect(field(page, 0x238, UInt32.self) == 0xFFF)
        #expect(field(page, 0x22C, UInt32.self) == 0x37FF_FFFF)
    }

    @Test("setup_data 0x250 is zeroed even when the header passed in points somewhere")
    func setupDataZeroed() throws {
        // QEMU 7.1 and 8.x chain a SETUP_RNG_SEED (or a DTB) there in the copy it serves.
        let header = Array(DebianBzImage.qemuSetupData[0..<0x26C]).storing(UInt64(0x1_5000), at: 0x250)
        #expect(try field(writeBzImagePage(header), 0x250, UInt64.self) == 0)
    }

    @Test("QEMU's ramdisk_image and ramdisk_size in SETUP_DATA are zeroed when there is no ramdisk")
    func staleRamdiskZeroed() throws {
        let qemu = Array(DebianBzImage.qemuSetupData[0..<0x26C])
        #expect(field(qemu, 0x218, UInt32.self) == 0x1FFF_E000)      // where QEMU put its -initrd
        #expect(field(qemu, 0x21C, UInt32.self) == 0x1000)
        let page = try writeBzImagePage(qemu, ramdisk: nil)
        #expect(field(page, 0x218, UInt32.self) == 0)
        #expect(field(page, 0x21C, UInt32.self) == 0)
        #expect(Array(page[0x0C0..<0x0C8]) == [UInt8](repeating: 0, count: 8))
    }

    @Test("QEMU's type_of_loader 0xB0 and cmd_line_ptr 0x20000 in SETUP_DATA are replaced by stage0's")
    func qemuLoaderFieldsReplaced() throws {
        let qemu = Array(DebianBzImage.qemuSetupData[0..<0x26C])
        #expect(qemu[0x210] == 0xB0)
        #expect(field(qemu, 0x228, UInt32.self) == 0x2_0000)
        let page = try writeBzImagePage(qemu, commandLine: 0x8000, ramdisk: Self.ramdisk)
        #expect(page[0x210] == 0xFF)
        #expect(field(page, 0x228, UInt32.self) == 0x8000)
        #expect(field(page, 0x218, UInt32.self) == 0x1FE0_0000)
    }

    @Test("the whole page: the kernel's header, the loader's fields, acpi_rsdp_addr, e820; zero elsewhere")
    func wholePage() throws {
        let page = try writeBzImagePage(ramdisk: Self.ramdisk, acpiRSDP: PhysicalAddress(0xF_5A30))
        var expected = [UInt8](repeating: 0, count: 4096)
        expected.replaceSubrange(0x1F1..<0x26C, with: DebianBzImage.header[0x1F1..<0x26C])
        expected.store(UInt8(0xFF), at: 0x210)
        expected.store(UInt8(0x01), at: 0x211)
        expected.store(UInt32(0x10_0000), at: 0x214)
        expected.store(UInt32(0x1FE0_0000), at: 0x218)
        expected.store(UInt32(0x1E_4DD8), at: 0x21C)
        expected.store(UInt32(0x8000), at: 0x228)
        expected.store(UInt64(0xF_5A30), at: 0x070)
        expected.store(UInt8(4), at: 0x1E8)
        expected.replaceSubrange(0x2D0..<(0x2D0 + 80), with: etcE820([
            (0, 0x8_0000, 2), (0x8_0000, 0x2_0000, 1), (0xA_0000, 0x6_0000, 2), (0x10_0000, 511 * mebibyte, 1),
        ]))
        #expect(differences(page, expected) == [])
    }

    @Test("bytes past 0x202 + byte[0x201] are not copied even when the buffer holds more of the setup part")
    func copyStopsAtHeaderEnd() throws {
        // The real-mode code at 0x26C..<0x280 of the file must not land in boot_params' _pad7.
        let page = try writeBzImagePage(DebianBzImage.header)
        #expect(page[0x26C..<0x2D0].allSatisfy { $0 == 0 })
    }
}
