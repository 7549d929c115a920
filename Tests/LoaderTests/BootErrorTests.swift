// What the firmware prints when a boot stops: `stage0: error: <what>: <hint>`.

import Testing
@testable import Loader

/// One value of every BootError case (the 26 of commit 97f174c); add one for each new case.
let everyBootError: [BootError] = [
    .fwCfgAbsent(signature: 0xFFFF_FFFF),
    .fwCfgNoTransport(features: 0),
    .fwCfgDirectoryTooLarge(count: 2000, limit: 1024),
    .fwCfgDMAFailed(selector: 0x21, offset: 0x1000, length: 0x2000),
    .fwCfgDMANeverCompleted(selector: 0x21, polls: 1 << 26),
    .fwCfgReadPastEnd(file: "opt/stage0/elf_kernel", offset: 10, length: 20, size: 25),
    .fwCfgWriteNeedsDMA(file: "etc/vmgenid_addr"),
    .kernelFileMissing(name: "opt/stage0/elf_kernel"),
    .kernelFileEmpty(name: "opt/stage0/elf_kernel"),
    .kernelTooSmall(size: 3, needed: 64),
    .kernelNotELF(magic: [0x1F, 0x8B, 0x08, 0x00]),
    .kernelIsBzImage,
    .kernelUnknownFormat(magic: [0x07, 0x26, 0x45, 0x64]),
    .kernelUnknownFormat(magic: []),
    .bzImageNoHeader,
    .bzImageNo64BitEntry(protocolVersion: 0x020B, xloadFlags: 0),
    .bzImageDoesNotFit(region: PhysicalRegion(start: 0x10_0000, end: 0x4F9_8000)),
    .bzImageTruncated(size: 20480, setupSize: 20480),
    .kernelNotELF64(elfClass: 1),
    .kernelNotLittleEndian(encoding: 2),
    .kernelWrongMachine(machine: 3),
    .kernelNotExecutable(type: 3),
    .kernelBadProgramHeaders(offset: 64, count: 0, entrySize: 56),
    .kernelNoLoadableSegment,
    .kernelSegmentTruncated(index: 3, end: 0x3E0_0000, fileSize: 0x300_0000),
    .kernelSegmentFileSizeExceedsMemorySize(index: 1, fileSize: 2, memorySize: 1),
    .kernelSegmentOutsideRAM(index: 3, region: PhysicalRegion(start: 0x307_9000, end: 0x4A0_0000)),
    .kernelSegmentOverlapsFirmware(index: 0, region: PhysicalRegion(start: 0, end: 0x1000), use: .zeroPage,
                                   used: PhysicalRegion(start: 0x7000, end: 0x8000)),
    .kernelSegmentsOverlap(first: 1, second: 2, region: PhysicalRegion(start: 0x2B0_0000, end: 0x2B3_5000)),
    .kernelEntryOutsideSegments(entry: 0x50_0000),
    .e820Malformed(size: 21),
    .e820TooManyEntries(count: 129, limit: 128),
    .noRAM,
    .acpiTableLoaderMalformed(size: 1663),
    .acpiUnknownFile(command: 1, name: "etc/acpi/nvdimm-mem"),
    .acpiFileNotAllocated(command: 11, name: "etc/acpi/tables"),
    .acpiRangeOutsideFile(command: 3, name: "etc/acpi/tables", offset: 744, length: 8, size: 746),
    .acpiBadPointerSize(command: 4, size: 3),
    .acpiBadAlignment(command: 1, alignment: 3),
    .acpiUnknownZone(command: 0, zone: 7),
    .acpiTooManyAllocations(limit: 32),
    .acpiZoneFull(command: 0, name: "etc/acpi/rsdp", size: 0x2001, zone: "FSEG"),
    .initramfsDoesNotFit(size: 600 * mebibyte, largestFree: 400 * mebibyte, ceiling: gibibyte,
                         suggestedMemory: 704 * mebibyte),
    .initramfsDoesNotFit(size: 960 * mebibyte, largestFree: 950 * mebibyte, ceiling: gibibyte, suggestedMemory: nil),
    .commandLineTooLong(length: 2048, limit: 2047),
]

@Suite("boot error messages")
struct BootErrorTests {
    @Test("every error has a non-empty what and hint", arguments: everyBootError)
    func whatAndHint(error: BootError) {
        #expect(!error.what.isEmpty)
        #expect(!error.hint.isEmpty)
        #expect(!error.what.hasSuffix(".") && !error.hint.hasSuffix("."))   // printed as "what: hint"
    }

    @Test("a missing kernel tells how to pass one to QEMU")
    func missingKernel() {
        let error = BootError.kernelFileMissing(name: "opt/stage0/elf_kernel")
        #expect(error.what == "no kernel: fw_cfg has no file opt/stage0/elf_kernel and QEMU was given no -kernel")
        #expect(error.hint.contains("-fw_cfg \"name=opt/stage0/elf_kernel,file="))
        #expect(error.hint == "pass a vmlinux or bzImage with -fw_cfg \"name=opt/stage0/elf_kernel,file=build/vmlinux\" (or -kernel FILE)")
    }

    @Test("a bzImage passed as the kernel points at extract-vmlinux.py")
    func bzImage() {
        #expect(BootError.kernelIsBzImage.what == "the kernel is a bzImage, not an ELF vmlinux")
        #expect(BootError.kernelIsBzImage.hint.contains("scripts/extract-vmlinux.py"))
    }

    @Test("a kernel of unknown format names its first bytes and both formats expected")
    func unknownFormat() {
        #expect(BootError.kernelUnknownFormat(magic: [0x1F, 0x8B, 0x08, 0x00]).what
                == "the kernel is neither an ELF vmlinux nor a bzImage (first bytes 0x1f 0x8b 0x8 0x0, expected 0x7f 'E' 'L' 'F', or \"HdrS\" at offset 0x202)")
    }

    @Test("a bzImage without a 64-bit entry names its protocol and xloadflags")
    func no64BitEntry() {
        #expect(BootError.bzImageNo64BitEntry(protocolVersion: 0x020B, xloadFlags: 0).what
                == "the bzImage has no 64-bit entry (boot protocol 0x20b, xloadflags 0x0; 2.12 with XLF_KERNEL_64 needed)")
    }

    @Test("no fw_cfg device names what was read instead of \"QEMU\"")
    func absent() {
        #expect(BootError.fwCfgAbsent(signature: 0xFFFF_FFFF).what
                == "no fw_cfg device at I/O port 0x510 (signature read 0xffffffff, expected \"QEMU\")")
    }

    @Test("a truncated kernel names the segment's end and the file's size")
    func truncated() {
        #expect(BootError.kernelSegmentTruncated(index: 3, end: 65_011_712, fileSize: 50_331_648).what
                == "the kernel file is truncated: segment 3 ends at byte 65011712 but the file has 50331648 bytes")
    }
}

@Suite("message formatting")
struct TextTests {
    @Test("hex is lower-case with 0x and no padding")
    func hex() {
        #expect(Text.hex(0) == "0x0")
        #expect(Text.hex(0x4A0_0000) == "0x4a00000")
        #expect(Text.hex(UInt64.max) == "0xffffffffffffffff")
    }

    @Test("a range prints as [start-end)")
    func range() {
        #expect(Text.range(PhysicalRegion(start: 0x100_0000, end: 0x4A0_0000)) == "[0x1000000-0x4a00000)")
    }

    @Test("sizes print in the largest unit with one decimal when it is not whole")
    func size() {
        #expect(Text.size(512) == "512 B")
        #expect(Text.size(64 * kibibyte) == "64 KiB")
        #expect(Text.size(3 * mebibyte / 2) == "1.5 MiB")
        #expect(Text.size(2 * gibibyte) == "2 GiB")
    }

    @Test("milliseconds print with three decimals")
    func milliseconds() {
        #expect(Text.milliseconds(microseconds: 12_345) == "12.345 ms")
        #expect(Text.milliseconds(microseconds: 4_005) == "4.005 ms")
        #expect(Text.milliseconds(microseconds: 70) == "0.070 ms")
    }
}
