/// An x86_64 Linux vmlinux as an ELF64 executable (System V gABI, "ELF
/// Header" and "Program Header"; x86-64 psABI for EM_X86_64).

public struct ELFSegment: Equatable, Sendable {
    /// Where it is loaded: p_paddr, size p_memsz.
    public let memory: PhysicalRegion
    public let fileOffset: UInt64
    public let fileSize: UInt64
    /// The index among the program headers, for messages.
    public let index: Int
}

public struct ELFKernel: Equatable, Sendable {
    public static let headerSize = 64
    public static let programHeaderSize = 56
    /// More than any kernel has; bounds what the firmware reads.
    public static let maximumProgramHeaders = 64

    public let entry: UInt64
    public let segments: [ELFSegment]
    let programHeaderOffset: UInt64
    let programHeaderCount: Int

    static let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]
    static let classELF64: UInt8 = 2
    static let dataLittleEndian: UInt8 = 1
    static let typeExecutable: UInt16 = 2
    static let machineX86_64: UInt16 = 62
    static let segmentLoad: UInt32 = 1

    /// The byte range of the program header table, once the header is known.
    public var programHeaderTable: (offset: UInt64, size: Int) {
        (programHeaderOffset, programHeaderCount * ELFKernel.programHeaderSize)
    }

    /// Checks the ELF header; `header` holds the file's first bytes (at
    /// least 64, or the whole file if it is shorter).
    public static func parseHeader(_ header: UnsafeRawBufferPointer, fileSize: UInt64) throws(BootError) -> ELFKernel {
        guard header.count >= 4 else {
            throw .kernelTooSmall(size: fileSize, needed: UInt64(headerSize))
        }
        if !(header[0] == magic[0] && header[1] == magic[1] && header[2] == magic[2] && header[3] == magic[3]) {
            if BzImageSignature.matches(header) { throw .kernelIsBzImage }
            throw .kernelNotELF(magic: Array(header.prefix(4)))
        }
        guard header.count >= headerSize, fileSize >= UInt64(headerSize) else {
            throw .kernelTooSmall(size: fileSize, needed: UInt64(headerSize))
        }
        guard header[4] == classELF64 else { throw .kernelNotELF64(elfClass: header[4]) }
        guard header[5] == dataLittleEndian else { throw .kernelNotLittleEndian(encoding: header[5]) }
        let type = UInt16(littleEndian: header.loadUnaligned(fromByteOffset: 16, as: UInt16.self))
        let machine = UInt16(littleEndian: header.loadUnaligned(fromByteOffset: 18, as: UInt16.self))
        guard machine == machineX86_64 else { throw .kernelWrongMachine(machine: machine) }
        guard type == typeExecutable else { throw .kernelNotExecutable(type: type) }
        let entry = UInt64(littleEndian: header.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        let phoff = UInt64(littleEndian: header.loadUnaligned(fromByteOffset: 32, as: UInt64.self))
        let phentsize = UInt16(littleEndian: header.loadUnaligned(fromByteOffset: 54, as: UInt16.self))
        let phnum = UInt16(littleEndian: header.loadUnaligned(fromByteOffset: 56, as: UInt16.self))
        let tableSize = UInt64(phnum) * UInt64(programHeaderSize)
        guard phentsize == UInt16(programHeaderSize), phnum > 0, Int(phnum) <= maximumProgramHeaders,
              phoff >= UInt64(headerSize), phoff <= fileSize, tableSize <= fileSize - phoff else {
            throw .kernelBadProgramHeaders(offset: phoff, count: phnum, entrySize: phentsize)
        }
        return ELFKernel(entry: entry, segments: [], programHeaderOffset: phoff, programHeaderCount: Int(phnum))
    }

    /// Reads the PT_LOAD segments from the program header table and checks
    /// them against the file: present, in the file, filesz <= memsz, no
    /// overlap with each other, and the entry inside one of them.
    public func parsingSegments(_ table: UnsafeRawBufferPointer, fileSize: UInt64) throws(BootError) -> ELFKernel {
        precondition(table.count >= programHeaderTable.size)
        var loads: [ELFSegment] = []
        for index in 0..<programHeaderCount {
            let base = index * ELFKernel.programHeaderSize
            let type = UInt32(littleEndian: table.loadUnaligned(fromByteOffset: base, as: UInt32.self))
            guard type == ELFKernel.segmentLoad else { continue }
            let offset = UInt64(littleEndian: table.loadUnaligned(fromByteOffset: base + 8, as: UInt64.self))
            let paddr = UInt64(littleEndian: table.loadUnaligned(fromByteOffset: base + 24, as: UInt64.self))
            let filesz = UInt64(littleEndian: table.loadUnaligned(fromByteOffset: base + 32, as: UInt64.self))
            let memsz = UInt64(littleEndian: table.loadUnaligned(fromByteOffset: base + 40, as: UInt64.self))
            guard filesz <= memsz else {
                throw .kernelSegmentFileSizeExceedsMemorySize(index: index, fileSize: filesz, memorySize: memsz)
            }
            let (fileEnd, fileOverflow) = offset.addingReportingOverflow(filesz)
            guard !fileOverflow, fileEnd <= fileSize else {
                throw .kernelSegmentTruncated(index: index, end: fileOverflow ? UInt64.max : fileEnd, fileSize: fileSize)
            }
            let (_, memoryOverflow) = paddr.addingReportingOverflow(memsz)
            let memory = PhysicalRegion(start: PhysicalAddress(paddr), size: memsz)
            guard !memoryOverflow else { throw .kernelSegmentOutsideRAM(index: index, region: memory) }
            loads.append(ELFSegment(memory: memory, fileOffset: offset, fileSize: filesz, index: index))
        }
        guard !loads.isEmpty else { throw .kernelNoLoadableSegment }
        for (i, first) in loads.enumerated() {
            for second in loads[(i + 1)...] where first.memory.overlaps(second.memory) {
                let overlapStart = max(first.memory.start, second.memory.start)
                let overlapEnd = min(first.memory.end, second.memory.end)
                throw .kernelSegmentsOverlap(first: first.index, second: second.index,
                                             region: PhysicalRegion(start: overlapStart.value, end: overlapEnd.value))
            }
        }
        guard loads.contains(where: { $0.fileSize > 0 && PhysicalRegion(start: $0.memory.start, size: $0.fileSize)
                    .contains(PhysicalAddress(entry)) }) else {
            throw .kernelEntryOutsideSegments(entry: entry)
        }
        return ELFKernel(entry: entry, segments: loads, programHeaderOffset: programHeaderOffset,
                         programHeaderCount: programHeaderCount)
    }

    /// Checks every segment against the memory it would be written to:
    /// wholly inside RAM, and clear of everything in `reserved`.
    public func checkPlacement(in map: E820Map, avoiding reserved: [MemoryReservation]) throws(BootError) {
        for segment in segments {
            if let clash = reserved.first(where: { $0.region.overlaps(segment.memory) }) {
                throw .kernelSegmentOverlapsFirmware(index: segment.index, region: segment.memory,
                                                     use: clash.use, used: clash.region)
            }
            guard map.isUsable(segment.memory) else {
                throw .kernelSegmentOutsideRAM(index: segment.index, region: segment.memory)
            }
        }
    }

    /// The span from the lowest to the highest loaded byte.
    public var footprint: PhysicalRegion {
        let low = segments.map { $0.memory.start.value }.min() ?? 0
        let high = segments.map { $0.memory.end.value }.max() ?? 0
        return PhysicalRegion(start: low, end: high)
    }
}

/// A bzImage carries "HdrS" at 0x202 (Documentation/arch/x86/boot.rst);
/// recognised only to say so when one is passed where an ELF is expected.
enum BzImageSignature {
    static func matches(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if bytes.count >= 0x206 {
            return bytes[0x202] == 0x48 && bytes[0x203] == 0x64 && bytes[0x204] == 0x72 && bytes[0x205] == 0x53
        }
        return bytes.count >= 2 && bytes[0] == 0x4D && bytes[1] == 0x5A   // "MZ", the PE stub of EFI-capable bzImages
    }
}
