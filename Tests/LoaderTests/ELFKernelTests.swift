// The ELF vmlinux checks (System V gABI "ELF Header", "Program Header"),
// on the real headers of Debian's 6.1.0-57 kernel and variants of them.

import Foundation
import Testing
@testable import Loader

/// The first 64 + 5 * 56 bytes of Debian's vmlinux 6.1.0-57-amd64 (see Fixtures/README.md).
enum DebianKernel {
    /// The real vmlinux's size: the tests serve the headers as a file this long.
    static let fileSize = 65_906_612

    static let headers: [UInt8] = {
        let url = Bundle.module.url(forResource: "debian-6.1.0-vmlinux-headers", withExtension: "bin",
                                    subdirectory: "Fixtures")!
        return Array(try! Data(contentsOf: url))
    }()

    /// `readelf -lW build/vmlinux`: the four PT_LOADs; program header 4 is the PT_NOTE.
    static let segments = [
        ELFSegment(memory: PhysicalRegion(start: PhysicalAddress(0x0100_0000), size: 0x18E_ACDC),
                   fileOffset: 0x20_0000, fileSize: 0x18E_ACDC, index: 0),
        ELFSegment(memory: PhysicalRegion(start: PhysicalAddress(0x02A0_0000), size: 0x64_4000),
                   fileOffset: 0x1C0_0000, fileSize: 0x64_4000, index: 1),
        ELFSegment(memory: PhysicalRegion(start: PhysicalAddress(0x0304_4000), size: 0x3_5000),
                   fileOffset: 0x240_0000, fileSize: 0x3_5000, index: 2),
        ELFSegment(memory: PhysicalRegion(start: PhysicalAddress(0x0307_9000), size: 0x198_7000),
                   fileOffset: 0x247_9000, fileSize: 0x198_7000, index: 3),
    ]

    static func programHeader(_ index: Int) -> Int { 64 + 56 * index }
}

/// Little-endian stores into a byte array, for making variants.
extension Array where Element == UInt8 {
    mutating func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        let bytes = littleEndianBytes(value)
        if count < offset + bytes.count { append(contentsOf: [UInt8](repeating: 0, count: offset + bytes.count - count)) }
        replaceSubrange(offset..<(offset + bytes.count), with: bytes)
    }

    func storing<T: FixedWidthInteger>(_ value: T, at offset: Int) -> [UInt8] {
        var copy = self
        copy.store(value, at: offset)
        return copy
    }
}

/// Parses `bytes`, served as a file of `fileSize` bytes (zeros past the
/// bytes), the way ELFLoading.inspect does: the first 64 bytes, then the
/// program header table.
func parseKernel(_ bytes: [UInt8], fileSize: Int? = nil) throws -> ELFKernel {
    let size = fileSize ?? bytes.count
    func fileBytes(_ range: Range<Int>) -> [UInt8] {
        range.map { $0 < bytes.count ? bytes[$0] : 0 }
    }
    let header = fileBytes(0..<min(ELFKernel.headerSize, size))
    let kernel = try header.withUnsafeBytes { buffer in
        try ELFKernel.parseHeader(buffer, fileSize: UInt64(size))
    }
    let location = kernel.programHeaderTable
    let table = fileBytes(Int(location.offset)..<(Int(location.offset) + location.size))
    return try table.withUnsafeBytes { buffer in
        try kernel.parsingSegments(buffer, fileSize: UInt64(size))
    }
}

func parseDebianKernel(_ bytes: [UInt8] = DebianKernel.headers, fileSize: Int = DebianKernel.fileSize)
    throws -> ELFKernel {
    try parseKernel(bytes, fileSize: fileSize)
}

/// RAM 0..<size as QEMU's etc/e820 gives it, less what the firmware keeps
/// (memory_layout.h: 0..0x80000) and the legacy VGA/BIOS area.
func microvmMap(ram: UInt64) -> E820Map {
    var map = E820Map([E820Entry(PhysicalRegion(start: 0, end: ram), .ram)])
    map.reserve(PhysicalRegion(start: 0, end: 0x8_0000))
    map.reserve(PhysicalRegion(start: 0xA_0000, end: 0x10_0000))
    return map
}

@Suite("ELF kernel: the real Debian 6.1 vmlinux")
struct ELFRealKernelTests {
    @Test("the fixture is the ELF header and the five program headers")
    func fixtureIsWhole() {
        #expect(DebianKernel.headers.count == 64 + 5 * 56)
        #expect(Array(DebianKernel.headers.prefix(4)) == [0x7F, 0x45, 0x4C, 0x46])
    }

    @Test("the real header parses: entry 0x1000000, the program header table at 64")
    func realHeaderParses() throws {
        let kernel = try parseDebianKernel()
        #expect(kernel.entry == 0x100_0000)
        #expect(kernel.programHeaderTable.offset == 64)
        #expect(kernel.programHeaderTable.size == 5 * 56)
    }

    @Test("its four PT_LOAD segments come out with their real p_paddr, p_filesz, p_memsz and p_offset; the PT_NOTE is skipped")
    func realSegments() throws {
        let kernel = try parseDebianKernel()
        #expect(kernel.segments == DebianKernel.segments)
        #expect(!kernel.segments.contains { $0.index == 4 })
    }

    @Test("the per-cpu segment, whose p_vaddr is 0, is placed by p_paddr")
    func perCPUSegmentUsesPhysicalAddress() throws {
        let vaddr = DebianKernel.headers.withUnsafeBytes {
            $0.loadUnaligned(fromByteOffset: DebianKernel.programHeader(2) + 16, as: UInt64.self)
        }
        #expect(vaddr == 0)
        #expect(try parseDebianKernel().segments[2].memory.start == PhysicalAddress(0x304_4000))
    }

    @Test("it occupies 0x1000000..0x4a00000")
    func realFootprint() throws {
        #expect(try parseDebianKernel().footprint == PhysicalRegion(start: 0x100_0000, end: 0x4A0_0000))
    }

    @Test("it fits a 128 MiB microvm, clear of the firmware's reservations")
    func realKernelFits128M() throws {
        let kernel = try parseDebianKernel()
        let reservations = [
            MemoryReservation(.pageTables, PhysicalRegion(start: 0x1000, end: 0x7000)),
            MemoryReservation(.zeroPage, PhysicalRegion(start: 0x7000, end: 0x8000)),
            MemoryReservation(.commandLine, PhysicalRegion(start: 0x8000, end: 0x1_0000)),
            MemoryReservation(.firmware, PhysicalRegion(start: 0x1_0000, end: 0x3_0000)),
            MemoryReservation(.legacyArea, PhysicalRegion(start: 0xA_0000, end: 0x10_0000)),
        ]
        try kernel.checkPlacement(in: microvmMap(ram: 128 * mebibyte), avoiding: reservations)
    }
}

@Suite("ELF kernel: malformed files")
struct ELFMalformedTests {
    let elf = DebianKernel.headers

    @Test("an empty file is too small for an ELF header")
    func emptyFile() {
        #expect(throws: BootError.kernelTooSmall(size: 0, needed: 64)) { try parseKernel([]) }
    }

    @Test("a 3-byte file is too small for an ELF header")
    func threeBytes() {
        #expect(throws: BootError.kernelTooSmall(size: 3, needed: 64)) { try parseKernel(Array(elf.prefix(3))) }
    }

    @Test("a file cut in the middle of its ELF header (40 bytes) is too small")
    func truncatedMidHeader() {
        #expect(throws: BootError.kernelTooSmall(size: 40, needed: 64)) { try parseKernel(Array(elf.prefix(40))) }
    }

    @Test("a file that is not ELF is rejected, naming its first bytes")
    func notELF() throws {
        let gzip: [UInt8] = [0x1F, 0x8B, 0x08, 0x00] + elf.dropFirst(4)
        #expect(throws: BootError.kernelNotELF(magic: [0x1F, 0x8B, 0x08, 0x00])) {
            try parseKernel(gzip, fileSize: DebianKernel.fileSize)
        }
        let message = BootError.kernelNotELF(magic: [0x1F, 0x8B, 0x08, 0x00]).what
        #expect(message.contains("0x1f 0x8b 0x8 0x0"))
    }

    @Test("a file starting with \"MZ\" (an EFI-stub bzImage) is recognised as a bzImage")
    func bzImageStart() {
        let bzImage: [UInt8] = [0x4D, 0x5A] + [UInt8](repeating: 0, count: 62)
        #expect(throws: BootError.kernelIsBzImage) { try parseKernel(bzImage, fileSize: 8_000_000) }
    }

    @Test("a setup header with \"HdrS\" at 0x202 is recognised as a bzImage")
    func bzImageHeader() {
        var bzImage = [UInt8](repeating: 0, count: 0x400)
        bzImage.store(UInt32(0x5372_6448), at: 0x202)
        #expect(throws: BootError.kernelIsBzImage) {
            try bzImage.withUnsafeBytes { b in _ = try ELFKernel.parseHeader(b, fileSize: 0x400) }
        }
    }

    @Test("an ELF32 file (EI_CLASS 1) is rejected")
    func elf32() {
        #expect(throws: BootError.kernelNotELF64(elfClass: 1)) { try parseDebianKernel(elf.storing(UInt8(1), at: 4)) }
    }

    @Test("a big-endian ELF (EI_DATA 2) is rejected")
    func bigEndian() {
        #expect(throws: BootError.kernelNotLittleEndian(encoding: 2)) {
            try parseDebianKernel(elf.storing(UInt8(2), at: 5))
        }
    }

    @Test("an ELF for another machine (EM_386 = 3) is rejected")
    func wrongMachine() {
        #expect(throws: BootError.kernelWrongMachine(machine: 3)) {
            try parseDebianKernel(elf.storing(UInt16(3), at: 18))
        }
    }

    @Test("a shared object (ET_DYN) is rejected")
    func sharedObject() {
        #expect(throws: BootError.kernelNotExecutable(type: 3)) {
            try parseDebianKernel(elf.storing(UInt16(3), at: 16))
        }
    }

    @Test("a program header entry size other than 56 is rejected")
    func wrongEntrySize() {
        #expect(throws: BootError.kernelBadProgramHeaders(offset: 64, count: 5, entrySize: 32)) {
            try parseDebianKernel(elf.storing(UInt16(32), at: 54))
        }
    }

    @Test("no program headers (e_phnum 0) is rejected")
    func noProgramHeaders() {
        #expect(throws: BootError.kernelBadProgramHeaders(offset: 64, count: 0, entrySize: 56)) {
            try parseDebianKernel(elf.storing(UInt16(0), at: 56))
        }
    }

    @Test("more than 64 program headers is rejected")
    func tooManyProgramHeaders() {
        #expect(throws: BootError.kernelBadProgramHeaders(offset: 64, count: 65, entrySize: 56)) {
            try parseDebianKernel(elf.storing(UInt16(65), at: 56))
        }
    }

    @Test("a program header table that runs past the end of the file is rejected")
    func programHeadersPastEnd() {
        // 64 + 5 * 56 = 344 bytes needed.
        #expect(throws: BootError.kernelBadProgramHeaders(offset: 64, count: 5, entrySize: 56)) {
            try parseKernel(elf, fileSize: 343)
        }
        #expect(throws: BootError.kernelBadProgramHeaders(offset: 0x100_0000_0000, count: 5, entrySize: 56)) {
            try parseDebianKernel(elf.storing(UInt64(0x100_0000_0000), at: 32))
        }
    }

    @Test("a program header table inside the ELF header (e_phoff < 64) is rejected")
    func programHeadersOverlapHeader() {
        #expect(throws: BootError.kernelBadProgramHeaders(offset: 8, count: 5, entrySize: 56)) {
            try parseDebianKernel(elf.storing(UInt64(8), at: 32))
        }
    }

    @Test("a segment with p_filesz larger than p_memsz is rejected")
    func fileSizeAboveMemorySize() {
        #expect(throws: BootError.kernelSegmentFileSizeExceedsMemorySize(index: 1, fileSize: 0x64_4000,
                                                                         memorySize: 0x64_3FFF)) {
            try parseDebianKernel(elf.storing(UInt64(0x64_3FFF), at: DebianKernel.programHeader(1) + 40))
        }
    }

    @Test("a file cut short in the middle of its last segment is truncated, naming the segment's end")
    func truncatedMidSegment() throws {
        // Segment 3 is file bytes 0x2479000..0x3e00000.
        #expect(throws: BootError.kernelSegmentTruncated(index: 3, end: 0x3E0_0000, fileSize: 0x300_0000)) {
            try parseDebianKernel(fileSize: 0x300_0000)
        }
        // One byte short of its end is enough.
        #expect(throws: BootError.kernelSegmentTruncated(index: 3, end: 0x3E0_0000, fileSize: 0x3DF_FFFF)) {
            try parseDebianKernel(fileSize: 0x3DF_FFFF)
        }
        // Ending exactly at the end of the file is fine.
        #expect(try parseDebianKernel(fileSize: 0x3E0_0000).segments.count == 4)
    }

    @Test("a segment whose file range wraps around 2^64 is truncated")
    func segmentOffsetWraps() {
        #expect(throws: BootError.kernelSegmentTruncated(index: 0, end: UInt64.max, fileSize: UInt64(DebianKernel.fileSize))) {
            try parseDebianKernel(elf.storing(UInt64.max - 0x10, at: DebianKernel.programHeader(0) + 8))
        }
    }

    @Test("a segment whose memory wraps around 2^64 is outside RAM")
    func segmentMemoryWraps() {
        let start = UInt64.max - 0xFFF
        #expect(throws: BootError.kernelSegmentOutsideRAM(index: 2, region: PhysicalRegion(start: PhysicalAddress(start),
                                                                                           size: 0x3_5000))) {
            try parseDebianKernel(elf.storing(start, at: DebianKernel.programHeader(2) + 24))
        }
    }

    @Test("overlapping segments are rejected, naming both and the overlap")
    func overlappingSegments() {
        // Segment 2 moved into segment 1 ([0x2a00000, 0x3044000)).
        #expect(throws: BootError.kernelSegmentsOverlap(first: 1, second: 2,
                                                        region: PhysicalRegion(start: 0x2B0_0000, end: 0x2B3_5000))) {
            try parseDebianKernel(elf.storing(UInt64(0x2B0_0000), at: DebianKernel.programHeader(2) + 24))
        }
    }

    @Test("a file without PT_LOAD segments is rejected")
    func noLoadableSegment() {
        var notes = elf
        for index in 0..<4 { notes.store(UInt32(4), at: DebianKernel.programHeader(index)) }
        #expect(throws: BootError.kernelNoLoadableSegment) { try parseDebianKernel(notes) }
    }

    @Test("an entry point outside every segment is rejected")
    func entryOutsideSegments() {
        #expect(throws: BootError.kernelEntryOutsideSegments(entry: 0x50_0000)) {
            try parseDebianKernel(elf.storing(UInt64(0x50_0000), at: 24))
        }
        // The virtual address of startup_64 is not where anything is loaded.
        #expect(throws: BootError.kernelEntryOutsideSegments(entry: 0xFFFF_FFFF_8100_0000)) {
            try parseDebianKernel(elf.storing(UInt64(0xFFFF_FFFF_8100_0000), at: 24))
        }
    }

    @Test("an entry point in a segment's zero-filled tail (past p_filesz) is rejected")
    func entryInZeroFilledTail() {
        var kernel = elf
        kernel.store(UInt64(0x1000), at: DebianKernel.programHeader(3) + 32)   // segment 3: 4 KiB of file, rest zeros
        kernel.store(UInt64(0x307_9000 + 0x2000), at: 24)
        #expect(throws: BootError.kernelEntryOutsideSegments(entry: 0x307_B000)) { try parseDebianKernel(kernel) }
    }
}

@Suite("ELF kernel: placement")
struct ELFPlacementTests {
    @Test("a segment beyond the end of RAM (-m 64M) is rejected, naming the segment")
    func segmentBeyondRAM() throws {
        let kernel = try parseDebianKernel()
        #expect(throws: BootError.kernelSegmentOutsideRAM(index: 3, region: DebianKernel.segments[3].memory)) {
            try kernel.checkPlacement(in: microvmMap(ram: 64 * mebibyte), avoiding: [])
        }
    }

    @Test("a segment over a hole in RAM is rejected")
    func segmentOverHole() throws {
        let kernel = try parseDebianKernel()
        let map = E820Map([E820Entry(PhysicalRegion(start: 0, end: 0x2B0_0000), .ram),
                           E820Entry(PhysicalRegion(start: 0x2C0_0000, end: 128 * mebibyte), .ram)])
        #expect(throws: BootError.kernelSegmentOutsideRAM(index: 1, region: DebianKernel.segments[1].memory)) {
            try kernel.checkPlacement(in: map, avoiding: [])
        }
    }

    @Test("a segment over reserved memory in the map is rejected")
    func segmentOverReservedEntry() throws {
        let kernel = try parseDebianKernel()
        var map = microvmMap(ram: 128 * mebibyte)
        map.reserve(PhysicalRegion(start: 0x300_0000, end: 0x300_1000))
        #expect(throws: BootError.kernelSegmentOutsideRAM(index: 1, region: DebianKernel.segments[1].memory)) {
            try kernel.checkPlacement(in: map, avoiding: [])
        }
    }

    @Test("a segment over a firmware reservation is rejected, naming that reservation")
    func segmentOverFirmwareReservation() throws {
        let kernel = try parseDebianKernel()
        let zeroPage = PhysicalRegion(start: 0x2A0_1000, end: 0x2A0_2000)
        let reservations = [MemoryReservation(.firmware, PhysicalRegion(start: 0x1_0000, end: 0x3_0000)),
                            MemoryReservation(.zeroPage, zeroPage)]
        let expected = BootError.kernelSegmentOverlapsFirmware(index: 1, region: DebianKernel.segments[1].memory,
                                                               use: .zeroPage, used: zeroPage)
        #expect(throws: expected) {
            try kernel.checkPlacement(in: microvmMap(ram: 128 * mebibyte), avoiding: reservations)
        }
        #expect(expected.what == "kernel segment 1 at [0x2a00000-0x3044000) overlaps the zero page (boot_params) at [0x2a01000-0x2a02000)")
    }
}
