/// Everything that can stop a boot, each carrying what failed. The firmware
/// prints `stage0: error: <what>: <hint>` and makes QEMU exit.
public enum BootError: Error, Equatable {
    // fw_cfg (QEMU docs/specs/fw_cfg.rst)
    case fwCfgAbsent(signature: UInt32)
    case fwCfgNoTransport(features: UInt32)
    case fwCfgDirectoryTooLarge(count: UInt32, limit: UInt32)
    case fwCfgDMAFailed(selector: UInt16, offset: UInt64, length: UInt64)
    case fwCfgDMANeverCompleted(selector: UInt16, polls: Int)
    case fwCfgReadPastEnd(file: Label, offset: UInt64, length: UInt64, size: UInt64)
    case fwCfgWriteNeedsDMA(file: Label)
    case kernelFileMissing(name: Label)

    // The kernel ELF image
    case kernelFileEmpty(name: Label)
    case kernelTooSmall(size: UInt64, needed: UInt64)
    case kernelNotELF(magic: [UInt8])
    case kernelIsBzImage
    case kernelUnknownFormat(magic: [UInt8])
    case bzImageNoHeader
    case bzImageNo64BitEntry(protocolVersion: UInt16, xloadFlags: UInt16)
    case bzImageDoesNotFit(region: PhysicalRegion)
    case bzImageTruncated(size: UInt64, setupSize: UInt64)
    case kernelNotELF64(elfClass: UInt8)
    case kernelNotLittleEndian(encoding: UInt8)
    case kernelWrongMachine(machine: UInt16)
    case kernelNotExecutable(type: UInt16)
    case kernelBadProgramHeaders(offset: UInt64, count: UInt16, entrySize: UInt16)
    case kernelNoLoadableSegment
    case kernelSegmentTruncated(index: Int, end: UInt64, fileSize: UInt64)
    case kernelSegmentFileSizeExceedsMemorySize(index: Int, fileSize: UInt64, memorySize: UInt64)
    case kernelSegmentOutsideRAM(index: Int, region: PhysicalRegion)
    case kernelSegmentOverlapsFirmware(index: Int, region: PhysicalRegion, use: MemoryUse, used: PhysicalRegion)
    case kernelSegmentsOverlap(first: Int, second: Int, region: PhysicalRegion)
    case kernelEntryOutsideSegments(entry: UInt64)

    // Memory map (etc/e820, or CMOS without it)
    case e820Malformed(size: UInt64)
    case e820TooManyEntries(count: Int, limit: Int)
    case noRAM

    // ACPI tables (etc/table-loader)
    case acpiTableLoaderMalformed(size: UInt64)
    case acpiUnknownFile(command: Int, name: Label)
    case acpiFileNotAllocated(command: Int, name: Label)
    case acpiRangeOutsideFile(command: Int, name: Label, offset: UInt64, length: UInt64, size: UInt64)
    case acpiBadPointerSize(command: Int, size: UInt8)
    case acpiBadAlignment(command: Int, alignment: UInt32)
    case acpiUnknownZone(command: Int, zone: UInt8)
    case acpiTooManyAllocations(limit: Int)
    case acpiZoneFull(command: Int, name: Label, size: UInt64, zone: Label)

    // Initramfs and command line
    case initramfsDoesNotFit(size: UInt64, largestFree: UInt64, ceiling: UInt64, suggestedMemory: UInt64?)
    case commandLineTooLong(length: UInt64, limit: UInt64)

#if !hasFeature(Embedded)
    /// What failed, in one clause.
    public var what: String { whatMessage.string }

    /// What to do about it.
    public var hint: String { hintMessage.string }
#endif

    public var whatMessage: Message {
        switch self {
        case .fwCfgAbsent(let signature):
            return "no fw_cfg device at I/O port 0x510 (signature read \(hex: UInt64(signature)), expected \"QEMU\")"
        case .fwCfgNoTransport(let features):
            return "fw_cfg offers neither port I/O nor DMA (features \(hex: UInt64(features)))"
        case .fwCfgDirectoryTooLarge(let count, let limit):
            return "the fw_cfg file directory lists \(count) files, more than the \(limit) stage0 accepts"
        case .fwCfgDMANeverCompleted(let selector, let polls):
            return "a fw_cfg DMA transfer from item \(hex: UInt64(selector)) was still not complete after \(polls) polls"
        case .fwCfgDMAFailed(let selector, let offset, let length):
            return "fw_cfg DMA transfer of \(length) bytes at offset \(offset) of item \(hex: UInt64(selector)) reported an error"
        case .fwCfgReadPastEnd(let file, let offset, let length, let size):
            return "reading \(length) bytes at offset \(offset) of fw_cfg file \(file) runs past its end (\(size) bytes)"
        case .fwCfgWriteNeedsDMA(let file):
            return "writing fw_cfg file \(file) needs the DMA interface, which this device lacks"
        case .kernelFileMissing(let name):
            return "no kernel: fw_cfg has no file \(name) and QEMU was given no -kernel"
        case .kernelFileEmpty(let name):
            return "the kernel file \(name) is empty"
        case .kernelTooSmall(let size, let needed):
            return "the kernel file is \(size) bytes, too short for an ELF header (\(needed) bytes needed)"
        case .kernelNotELF(let magic):
            return "the kernel is not an ELF file (first bytes \(hexBytes: magic), expected 0x7f 'E' 'L' 'F')"
        case .kernelIsBzImage:
            return "the kernel is a bzImage, not an ELF vmlinux"
        case .kernelUnknownFormat(let magic):
            return "the kernel is neither an ELF vmlinux nor a bzImage (first bytes \(hexBytes: magic), expected 0x7f 'E' 'L' 'F', or \"HdrS\" at offset 0x202)"
        case .bzImageNoHeader:
            return "the bzImage has no \"HdrS\" setup header at offset 0x202"
        case .bzImageNo64BitEntry(let version, let flags):
            return "the bzImage has no 64-bit entry (boot protocol \(hex: UInt64(version)), xloadflags \(hex: UInt64(flags)); 2.12 with XLF_KERNEL_64 needed)"
        case .bzImageDoesNotFit(let region):
            return "the bzImage needs \(region) (its init_size) in RAM"
        case .bzImageTruncated(let size, let setupSize):
            return "the bzImage is \(size) bytes, no more than its \(setupSize)-byte setup part"
        case .kernelNotELF64(let elfClass):
            return "the kernel is not a 64-bit ELF (EI_CLASS \(elfClass), expected 2)"
        case .kernelNotLittleEndian(let encoding):
            return "the kernel is not little-endian (EI_DATA \(encoding), expected 1)"
        case .kernelWrongMachine(let machine):
            return "the kernel is not for x86_64 (e_machine \(machine), expected 62)"
        case .kernelNotExecutable(let type):
            return "the kernel ELF is not an executable (e_type \(type), expected 2 ET_EXEC)"
        case .kernelBadProgramHeaders(let offset, let count, let entrySize):
            return "the kernel's program header table is malformed (e_phoff \(offset), e_phnum \(count), e_phentsize \(entrySize))"
        case .kernelNoLoadableSegment:
            return "the kernel ELF has no PT_LOAD segment"
        case .kernelSegmentTruncated(let index, let end, let fileSize):
            return "the kernel file is truncated: segment \(index) ends at byte \(end) but the file has \(fileSize) bytes"
        case .kernelSegmentFileSizeExceedsMemorySize(let index, let fileSize, let memorySize):
            return "kernel segment \(index) has p_filesz \(fileSize) larger than p_memsz \(memorySize)"
        case .kernelSegmentOutsideRAM(let index, let region):
            return "kernel segment \(index) at \(region) is not inside usable RAM"
        case .kernelSegmentOverlapsFirmware(let index, let region, let use, let used):
            return "kernel segment \(index) at \(region) overlaps the \(use.name) at \(used)"
        case .kernelSegmentsOverlap(let first, let second, let region):
            return "kernel segments \(first) and \(second) overlap at \(region)"
        case .kernelEntryOutsideSegments(let entry):
            return "the kernel entry point \(hex: entry) is not inside any loaded segment"
        case .e820Malformed(let size):
            return "fw_cfg etc/e820 is \(size) bytes, not a whole number of 20-byte entries"
        case .e820TooManyEntries(let count, let limit):
            return "the memory map has \(count) entries, more than the \(limit) boot_params holds"
        case .noRAM:
            return "the memory map holds no usable RAM"
        case .acpiTableLoaderMalformed(let size):
            return "etc/table-loader is \(size) bytes, not a whole number of 128-byte commands"
        case .acpiUnknownFile(let command, let name):
            return "table-loader command \(command) names \(name), which fw_cfg does not have"
        case .acpiFileNotAllocated(let command, let name):
            return "table-loader command \(command) uses \(name) before allocating it"
        case .acpiRangeOutsideFile(let command, let name, let offset, let length, let size):
            return "table-loader command \(command) touches \(length) bytes at offset \(offset) of \(name), past its end (\(size) bytes)"
        case .acpiBadPointerSize(let command, let size):
            return "table-loader command \(command) has pointer size \(size) (1, 2, 4 or 8 expected)"
        case .acpiBadAlignment(let command, let alignment):
            return "table-loader command \(command) asks for alignment \(alignment), not a power of two"
        case .acpiUnknownZone(let command, let zone):
            return "table-loader command \(command) asks for zone \(zone) (1 HIGH or 2 FSEG expected)"
        case .acpiTooManyAllocations(let limit):
            return "etc/table-loader allocates more than \(limit) files"
        case .acpiZoneFull(let command, let name, let size, let zone):
            return "table-loader command \(command): no room for \(name) (\(size: size)) in the \(zone) zone"
        case .initramfsDoesNotFit(let size, let largestFree, let ceiling, _):
            return "the initramfs (\(size: size)) does not fit below \(size: ceiling): the largest free space there is \(size: largestFree)"
        case .commandLineTooLong(let length, let limit):
            return "the command line is \(length) bytes, longer than the kernel accepts (\(limit) bytes)"
        }
    }

    public var hintMessage: Message {
        switch self {
        case .fwCfgAbsent, .fwCfgNoTransport:
            return "run stage0 under QEMU (-machine microvm) with fw_cfg enabled"
        case .fwCfgDirectoryTooLarge:
            return "pass fewer -fw_cfg files"
        case .fwCfgDMAFailed, .fwCfgReadPastEnd:
            return "the fw_cfg file changed or is unreadable; check the file passed to QEMU"
        case .fwCfgDMANeverCompleted:
            return "the fw_cfg device does not finish DMA (QEMU does at once); try -global fw_cfg_io.dma_enabled=off"
        case .fwCfgWriteNeedsDMA:
            return "run QEMU with fw_cfg DMA (the default)"
        case .acpiTableLoaderMalformed, .acpiUnknownFile, .acpiFileNotAllocated, .acpiRangeOutsideFile,
             .acpiBadPointerSize, .acpiBadAlignment, .acpiUnknownZone, .acpiTooManyAllocations, .acpiZoneFull:
            return "QEMU's ACPI tables are inconsistent; boot with -machine microvm,acpi=off to do without them"
        case .kernelFileMissing(let name):
            return "pass a vmlinux or bzImage with -fw_cfg \"name=\(name),file=build/vmlinux\" (or -kernel FILE)"
        case .kernelFileEmpty:
            return "check the file given to QEMU (-fw_cfg ...,file= or -kernel): it has no bytes"
        case .kernelTooSmall, .kernelSegmentTruncated:
            return "the file is cut short; extract vmlinux again (scripts/extract-vmlinux.py)"
        case .kernelNotELF:
            return "pass an uncompressed ELF vmlinux (scripts/extract-vmlinux.py extracts it from a bzImage)"
        case .kernelIsBzImage:
            return "extract the ELF vmlinux from it with scripts/extract-vmlinux.py"
        case .kernelUnknownFormat:
            return "pass a Linux kernel: an ELF vmlinux or a bzImage (/boot/vmlinuz-*)"
        case .bzImageNoHeader, .bzImageTruncated:
            return "the file is not a complete Linux bzImage; copy it again from /boot"
        case .bzImageNo64BitEntry:
            return "use a kernel from Linux 3.8 or later built for x86_64, or its ELF vmlinux"
        case .bzImageDoesNotFit:
            return "give the VM more memory (-m)"
        case .kernelNotELF64, .kernelNotLittleEndian, .kernelWrongMachine, .kernelNotExecutable:
            return "pass an x86_64 Linux vmlinux (ELF64, ET_EXEC, EM_X86_64)"
        case .kernelBadProgramHeaders, .kernelNoLoadableSegment, .kernelSegmentFileSizeExceedsMemorySize,
             .kernelSegmentsOverlap, .kernelEntryOutsideSegments:
            return "the ELF file is corrupt or not a Linux kernel; rebuild or re-extract it"
        case .kernelSegmentOutsideRAM:
            return "give the VM more memory (-m) or use a kernel linked at a lower physical address"
        case .kernelSegmentOverlapsFirmware:
            return "use a kernel whose segments load at 1 MiB or above (Linux loads at 16 MiB)"
        case .e820Malformed:
            return "QEMU's memory map is corrupt; do not override etc/e820"
        case .e820TooManyEntries:
            return "use fewer memory regions"
        case .noRAM:
            return "give the VM memory with -m"
        case .initramfsDoesNotFit(let size, _, _, let suggestedMemory):
            if let memory = suggestedMemory {
                return "give the VM more memory: -m \(memory / mebibyte)M or more"
            }
            return "it cannot fit below 1 GiB with the kernel at any -m; make it smaller (compress it with gzip or zstd; it is \(size: size))"
        case .commandLineTooLong:
            return "shorten the command line (opt/stage0/cmdline or -append)"
        }
    }
}

/// What a piece of memory is used for, to name it in errors and logs.
public enum MemoryUse: Equatable, Sendable {
    case firmware, pageTables, zeroPage, commandLine, stack, heap, legacyArea, kernel, initramfs

    public var name: StaticString {
        switch self {
        case .firmware: return "firmware image"
        case .pageTables: return "firmware page tables"
        case .zeroPage: return "zero page (boot_params)"
        case .commandLine: return "kernel command line"
        case .stack: return "firmware stack"
        case .heap: return "firmware heap"
        case .legacyArea: return "legacy VGA/BIOS area"
        case .kernel: return "kernel"
        case .initramfs: return "initramfs"
        }
    }
}

/// A region of memory and what it is used for.
public struct MemoryReservation: Equatable, Sendable {
    public let use: MemoryUse
    public let region: PhysicalRegion

    public init(_ use: MemoryUse, _ region: PhysicalRegion) {
        self.use = use
        self.region = region
    }
}
