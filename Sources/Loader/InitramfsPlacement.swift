/// Where the initramfs goes: as high as possible below a ceiling, page
/// aligned, in RAM, clear of everything already placed. High, because
/// Linux allocates upwards from low memory and the decompressed kernel,
/// its page tables and the unpacked rootfs all want room.
public enum InitramfsPlacement {
    /// The seed's rule: the initramfs and the kernel fit in the first 1 GiB.
    public static let seedCeiling = PhysicalAddress(gibibyte)
    /// What the suggested -m leaves for tables placed at the top of RAM.
    static let roomForFirmwareTables = mebibyte

    /// The ceiling for a kernel: min(1 GiB, initrd_addr_max + 1).
    public static func ceiling(initrdAddressMax: UInt64) -> PhysicalAddress {
        min(seedCeiling, PhysicalAddress(initrdAddressMax &+ 1))
    }

    public static func place(size: UInt64, in map: E820Map, avoiding occupied: [PhysicalRegion],
                             below ceiling: PhysicalAddress) throws(BootError) -> PhysicalRegion {
        var best: PhysicalRegion? = nil
        var largestFree: UInt64 = 0
        for free in freeRegions(in: map, avoiding: occupied, below: ceiling) {
            largestFree = max(largestFree, free.size)
            guard free.size >= size else { continue }
            let start = PhysicalAddress(free.end.value - size).alignedDown(to: pageSize)
            guard start >= free.start else { continue }
            if best == nil || start > best!.start { best = PhysicalRegion(start: start, size: size) }
        }
        if let best { return best }
        throw .initramfsDoesNotFit(size: size, largestFree: largestFree, ceiling: ceiling.value,
                                   suggestedMemory: suggestedMemory(size: size, avoiding: occupied, below: ceiling))
    }

    /// RAM below the ceiling with the occupied regions cut out.
    static func freeRegions(in map: E820Map, avoiding occupied: [PhysicalRegion],
                            below ceiling: PhysicalAddress) -> [PhysicalRegion] {
        var free: [PhysicalRegion] = []
        for ram in map.usableRegions where ram.start < ceiling {
            free.append(PhysicalRegion(start: ram.start.value, end: min(ram.end, ceiling).value))
        }
        for used in occupied where !used.isEmpty {
            var remaining: [PhysicalRegion] = []
            for piece in free {
                guard piece.overlaps(used) else { remaining.append(piece); continue }
                if piece.start < used.start {
                    remaining.append(PhysicalRegion(start: piece.start.value, end: used.start.value))
                }
                if used.end < piece.end {
                    remaining.append(PhysicalRegion(start: used.end.value, end: piece.end.value))
                }
            }
            free = remaining
        }
        return free
    }

    /// The -m that would make room: everything occupied below the ceiling,
    /// then the initramfs, then room for the ACPI tables the firmware puts at
    /// the top of RAM, rounded up to 64 MiB. Nil when even that is above the
    /// ceiling, where no amount of memory helps.
    static func suggestedMemory(size: UInt64, avoiding occupied: [PhysicalRegion],
                                below ceiling: PhysicalAddress) -> UInt64? {
        let occupiedTop = occupied.filter { $0.start < ceiling }.map { $0.end.alignedUp(to: pageSize).value }.max() ?? 0
        let (withTables, sizeOverflow) = size.addingReportingOverflow(roomForFirmwareTables)
        let (needed, overflow) = occupiedTop.addingReportingOverflow(withTables)
        guard !sizeOverflow, !overflow, needed <= ceiling.value else { return nil }
        let granule = 64 * mebibyte
        let (roundedUp, roundOverflow) = needed.addingReportingOverflow(granule - 1)
        guard !roundOverflow else { return nil }
        return roundedUp / granule * granule
    }
}
