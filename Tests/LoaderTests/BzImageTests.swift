// The bzImage setup header (Documentation/arch/x86/boot.rst, "The Real-Mode
// Kernel Header", "64-bit Boot Protocol"), on the real header of Debian's
// 6.1.0-57 bzImage and variants of it; and telling an ELF vmlinux from a
// bzImage by its first bytes.

import Foundation
import Testing
@testable import Loader

/// The first 0x280 bytes of Debian's /boot/vmlinuz-6.1.0-57-amd64, and the
/// same part as QEMU 7.2 microvm serves it in SETUP_DATA (see Fixtures/README.md).
enum DebianBzImage {
    /// The real bzImage's size.
    static let fileSize: UInt64 = 8_247_232
    /// (setup_sects 39 + 1) sectors: QEMU's SETUP_SIZE.
    static let setupSize: UInt64 = 40 * 512
    /// What follows the setup part: QEMU's KERNEL_SIZE, 8226752 bytes.
    static var payloadSize: UInt64 { fileSize - setupSize }
    /// 0x202 + byte[0x201] (0x6A).
    static let headerEnd = 0x26C

    static let header = fixture("debian-6.1.0-bzimage-header")
    static let qemuSetupData = fixture("qemu-7.2-microvm-bzimage-setup-data")

    /// The header up to its end, as the firmware hands it to BootParams.
    static var setupHeader: [UInt8] { Array(header[0..<headerEnd]) }

    private static func fixture(_ name: String) -> [UInt8] {
        let url = Bundle.module.url(forResource: name, withExtension: "bin", subdirectory: "Fixtures")!
        return Array(try! Data(contentsOf: url))
    }
}

func parseBzImage(_ bytes: [UInt8] = DebianBzImage.header) throws -> BzImage {
    try bytes.withUnsafeBytes { try BzImage.parse($0) }
}

func detectKernelFormat(_ bytes: [UInt8]) throws -> KernelFormat {
    try bytes.withUnsafeBytes { try KernelFormat.detect($0) }
}

/// memory_layout.h's reservations, as FirmwareMemory.reservations lists them.
let microvmFirmwareReservations = [
    MemoryReservation(.pageTables, PhysicalRegion(start: 0x1000, end: 0x7000)),
    MemoryReservation(.zeroPage, PhysicalRegion(start: 0x7000, end: 0x8000)),
    MemoryReservation(.commandLine, PhysicalRegion(start: 0x8000, end: 0x1_0000)),
    MemoryReservation(.firmware, PhysicalRegion(start: 0x1_0000, end: 0x3_0000)),
    MemoryReservation(.stack, PhysicalRegion(start: 0x3_0000, end: 0x4_0000)),
    MemoryReservation(.heap, PhysicalRegion(start: 0x4_0000, end: 0x8_0000)),
    MemoryReservation(.legacyArea, PhysicalRegion(start: 0xA_0000, end: 0x10_0000)),
]

@Suite("bzImage: the real Debian 6.1 setup header")
struct BzImageRealHeaderTests {
    @Test("the fixture is the first 0x280 bytes: \"MZ\" (the EFI stub), boot_flag 0xAA55, \"HdrS\" at 0x202")
    func fixtureIsTheFileStart() {
        #expect(DebianBzImage.header.count == 0x280)
        #expect(Array(DebianBzImage.header.prefix(2)) == Array("MZ".utf8))
        #expect(Array(DebianBzImage.header[0x1FE...0x1FF]) == [0x55, 0xAA])
        #expect(Array(DebianBzImage.header[0x202..<0x206]) == Array("HdrS".utf8))
    }

    @Test("the real header parses with its boot.rst fields: protocol 2.15, loadflags, initrd_addr_max, kernel_alignment, xloadflags, cmdline_size, pref_address, init_size")
    func realHeaderParses() throws {
        let image = try parseBzImage()
        #expect(image.protocolVersion == 0x020F)
        #expect(image.loadFlags == 0x01)
        #expect(image.initrdAddressMax == 0x7FFF_FFFF)
        #expect(image.kernelAlignment == 0x20_0000)
        #expect(image.xloadFlags == 0x7F)
        #expect(image.commandLineLimit == 0x7FF)
        #expect(image.preferredAddress == 0x100_0000)
        #expect(image.initSize == 0x3F9_8000)
        #expect(DebianBzImage.header[0x234] == 1)       // relocatable_kernel (not parsed; the copy carries it)
    }

    @Test("the setup part is (setup_sects 39 + 1) sectors: 20480 bytes")
    func setupSize() throws {
        #expect(DebianBzImage.header[0x1F1] == 39)
        #expect(try parseBzImage().setupSize == 40 * 512)
    }

    @Test("the setup header ends at 0x202 + byte[0x201] = 0x26C")
    func headerEnd() throws {
        #expect(DebianBzImage.header[0x201] == 0x6A)
        #expect(try parseBzImage().headerEnd == 0x26C)
    }

    @Test("the 64-bit entry is the load address 0x100000 + 0x200")
    func entry() throws {
        #expect(BzImage.loadAddress == PhysicalAddress(0x10_0000))
        #expect(try parseBzImage().entry == PhysicalAddress(0x10_0200))
    }

    @Test("QEMU's SETUP_DATA copy parses to the file's values, but for loadflags, where QEMU adds CAN_USE_HEAP (0x80)")
    func qemuSetupDataParsesTheSame() throws {
        let file = try parseBzImage(DebianBzImage.header)
        let qemu = try parseBzImage(DebianBzImage.qemuSetupData)
        #expect(qemu.loadFlags == 0x81)
        #expect(BzImage(protocolVersion: qemu.protocolVersion, setupSize: qemu.setupSize, loadFlags: file.loadFlags,
                        xloadFlags: qemu.xloadFlags, initrdAddressMax: qemu.initrdAddressMax,
                        commandLineLimit: qemu.commandLineLimit, kernelAlignment: qemu.kernelAlignment,
                        initSize: qemu.initSize, preferredAddress: qemu.preferredAddress, headerEnd: qemu.headerEnd)
                == file)
    }
}

@Suite("bzImage: header variants")
struct BzImageVariantTests {
    let header = DebianBzImage.header

    @Test("setup_sects 0 means 4: a setup part of 5 sectors")
    func zeroSetupSectorsMeansFour() throws {
        #expect(try parseBzImage(header.storing(UInt8(0), at: 0x1F1)).setupSize == 5 * 512)
    }

    @Test("no \"HdrS\" at 0x202 is bzImageNoHeader")
    func noMagic() {
        #expect(throws: BootError.bzImageNoHeader) { try parseBzImage(header.storing(UInt8(0x68), at: 0x202)) }
        #expect(throws: BootError.bzImageNoHeader) { try parseBzImage(DebianKernel.headers) }
    }

    @Test("bytes ending before the magic's last byte (0x205) are bzImageNoHeader")
    func tooShortForMagic() throws {
        #expect(throws: BootError.bzImageNoHeader) { try parseBzImage(Array(header.prefix(0x205))) }
        #expect(throws: BootError.bzImageNoHeader) { try parseBzImage([]) }
    }

    @Test("protocol 2.11 (0x20B), before xloadflags existed, is bzImageNo64BitEntry")
    func protocolBeforeXloadflags() {
        #expect(throws: BootError.bzImageNo64BitEntry(protocolVersion: 0x020B, xloadFlags: 0x7F)) {
            try parseBzImage(header.storing(UInt16(0x020B), at: 0x206))
        }
    }

    @Test("xloadflags without bit 0 (XLF_KERNEL_64) is bzImageNo64BitEntry")
    func noKernel64Flag() {
        #expect(throws: BootError.bzImageNo64BitEntry(protocolVersion: 0x020F, xloadFlags: 0x7E)) {
            try parseBzImage(header.storing(UInt16(0x7E), at: 0x236))
        }
    }

    @Test("protocol 2.12 (0x20C) with XLF_KERNEL_64 is the oldest header accepted")
    func protocol212Accepted() throws {
        #expect(try parseBzImage(header.storing(UInt16(0x020C), at: 0x206)).protocolVersion == 0x020C)
    }
}

@Suite("bzImage: footprint and placement")
struct BzImagePlacementTests {
    @Test("the real kernel occupies [0x100000, pref_address + init_size) = [0x100000, 0x4f98000)")
    func realFootprint() throws {
        let image = try parseBzImage()
        #expect(image.footprint(payloadSize: DebianBzImage.payloadSize)
                == PhysicalRegion(start: 0x10_0000, end: 0x100_0000 + 0x3F9_8000))
    }

    @Test("a payload reaching past pref_address + init_size extends the footprint to its end")
    func payloadLargerThanInitSize() throws {
        let image = try parseBzImage()
        #expect(image.footprint(payloadSize: 0x500_0000) == PhysicalRegion(start: 0x10_0000, end: 0x510_0000))
    }

    @Test("pref_address below the load address: init_size counts from the load address")
    func preferredAddressBelowLoadAddress() throws {
        let image = try parseBzImage(DebianBzImage.header.storing(UInt64(0), at: 0x258))
        #expect(image.footprint(payloadSize: DebianBzImage.payloadSize)
                == PhysicalRegion(start: 0x10_0000, end: 0x10_0000 + 0x3F9_8000))
    }

    @Test("it fits a 128 MiB microvm, clear of the firmware's reservations (the legacy area ends where it starts)")
    func realKernelFits128M() throws {
        try parseBzImage().checkPlacement(payloadSize: DebianBzImage.payloadSize, in: microvmMap(ram: 128 * mebibyte),
                                          avoiding: microvmFirmwareReservations)
    }

    @Test("-m 64M is too small for its init_size: bzImageDoesNotFit names the footprint")
    func doesNotFit64M() throws {
        let image = try parseBzImage()
        let expected = BootError.bzImageDoesNotFit(region: PhysicalRegion(start: 0x10_0000, end: 0x4F9_8000))
        #expect(throws: expected) {
            try image.checkPlacement(payloadSize: DebianBzImage.payloadSize, in: microvmMap(ram: 64 * mebibyte),
                                     avoiding: microvmFirmwareReservations)
        }
        #expect(expected.what == "the bzImage needs [0x100000-0x4f98000) (its init_size) in RAM")
    }

    @Test("a reservation inside the footprint is kernelSegmentOverlapsFirmware, naming it")
    func overlapsReservation() throws {
        let image = try parseBzImage()
        let zeroPage = PhysicalRegion(start: 0x200_0000, end: 0x200_1000)
        #expect(throws: BootError.kernelSegmentOverlapsFirmware(
            index: 0, region: PhysicalRegion(start: 0x10_0000, end: 0x4F9_8000), use: .zeroPage, used: zeroPage)) {
            try image.checkPlacement(payloadSize: DebianBzImage.payloadSize, in: microvmMap(ram: 128 * mebibyte),
                                     avoiding: microvmFirmwareReservations + [MemoryReservation(.zeroPage, zeroPage)])
        }
    }
}

@Suite("kernel format by content")
struct KernelFormatTests {
    @Test("the ELF magic 0x7f 'E' 'L' 'F' is .elf (the real vmlinux headers)")
    func elfMagic() throws {
        #expect(try detectKernelFormat(DebianKernel.headers) == .elf)
    }

    @Test("\"HdrS\" at 0x202, nothing else, is .bzImage")
    func headerMagicOnly() throws {
        var bytes = [UInt8](repeating: 0, count: 0x206)
        bytes.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
        #expect(try detectKernelFormat(bytes) == .bzImage)
    }

    @Test("the real bzImage header is .bzImage")
    func realBzImage() throws {
        #expect(try detectKernelFormat(DebianBzImage.header) == .bzImage)
    }

    @Test("other bytes are kernelUnknownFormat, naming the first 4")
    func unknownBytes() {
        let bytes = pattern(count: 0x280, seed: 7)
        #expect(throws: BootError.kernelUnknownFormat(magic: [0x07, 0x26, 0x45, 0x64])) { try detectKernelFormat(bytes) }
    }

    @Test("fewer than 4 bytes, even the start of the ELF magic, are kernelUnknownFormat with the bytes there are")
    func fewerThanFourBytes() {
        #expect(throws: BootError.kernelUnknownFormat(magic: [0x7F, 0x45, 0x4C])) {
            try detectKernelFormat([0x7F, 0x45, 0x4C])
        }
        #expect(throws: BootError.kernelUnknownFormat(magic: [])) { try detectKernelFormat([]) }
    }
}
