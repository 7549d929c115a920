/// The BIOS e820 memory map handed to Linux in boot_params.e820_table
/// (ACPI spec 6.5, 15.1 "INT 15H, E820H"; Linux arch/x86/include/uapi/asm/setup_data.h).

public struct E820Type: Equatable, Sendable {
    public let rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public static let ram = E820Type(1)
    public static let reserved = E820Type(2)
    public static let acpi = E820Type(3)
    public static let nvs = E820Type(4)
    public static let unusable = E820Type(5)

    public var name: Message {
        switch rawValue {
        case 1: return "RAM"
        case 2: return "reserved"
        case 3: return "ACPI"
        case 4: return "ACPI NVS"
        case 5: return "unusable"
        default: return "type \(rawValue)"
        }
    }
}

public struct E820Entry: Equatable, Sendable {
    public let region: PhysicalRegion
    public let type: E820Type

    public init(_ region: PhysicalRegion, _ type: E820Type) {
        self.region = region
        self.type = type
    }

    /// {le64 addr, le64 size, le32 type}: the layout of etc/e820 and of boot_params.
    public static let encodedSize = 20
}

/// A sorted map of non-overlapping entries. Where entries overlap, the
/// higher type wins (as Linux's e820__update_table does), so reserving a
/// region is adding an entry and normalising.
public struct E820Map: Equatable, Sendable {
    public private(set) var entries: [E820Entry]

    public init(_ entries: [E820Entry]) {
        self.entries = E820Map.normalized(entries)
    }

    /// Parses fw_cfg `etc/e820`: 20-byte little-endian entries.
    public init(etcE820 bytes: UnsafeRawBufferPointer) throws(BootError) {
        guard bytes.count % E820Entry.encodedSize == 0 else { throw .e820Malformed(size: UInt64(bytes.count)) }
        var parsed: [E820Entry] = []
        var offset = 0
        while offset < bytes.count {
            let address = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            let size = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
            let type = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 16, as: UInt32.self))
            parsed.append(E820Entry(PhysicalRegion(start: PhysicalAddress(address), size: size), E820Type(type)))
            offset += E820Entry.encodedSize
        }
        self.init(parsed)
    }

    /// The map QEMU's CMOS describes when etc/e820 is absent (QEMU
    /// hw/i386/microvm.c and pc.c fill the same registers): RAM below
    /// 4 GiB in 0x34/0x35 (64 KiB units above 16 MiB) or 0x30/0x31 (KiB above
    /// 1 MiB), RAM above 4 GiB in 0x5B..0x5D (64 KiB units).
    public init(cmos: (UInt8) -> UInt8) {
        let above16M = UInt64(cmos(0x34)) | UInt64(cmos(0x35)) << 8
        let above1M = UInt64(cmos(0x30)) | UInt64(cmos(0x31)) << 8
        let above4G = UInt64(cmos(0x5B)) | UInt64(cmos(0x5C)) << 8 | UInt64(cmos(0x5D)) << 16
        let lowTop = above16M != 0 ? 16 * mebibyte + above16M * 64 * kibibyte : mebibyte + above1M * kibibyte
        var ram = [E820Entry(PhysicalRegion(start: 0, end: lowTop), .ram)]
        if above4G != 0 {
            ram.append(E820Entry(PhysicalRegion(start: PhysicalAddress(4 * gibibyte), size: above4G * 64 * kibibyte), .ram))
        }
        self.init(ram)
    }

    public mutating func reserve(_ region: PhysicalRegion, as type: E820Type = .reserved) {
        entries = E820Map.normalized(entries + [E820Entry(region, type)])
    }

    public var usableRegions: [PhysicalRegion] {
        entries.filter { $0.type == .ram }.map { $0.region }
    }

    public var totalRAM: UInt64 {
        usableRegions.reduce(0) { $0 + $1.size }
    }

    /// Whether every byte of `region` is RAM.
    public func isUsable(_ region: PhysicalRegion) -> Bool {
        // Normalised entries of one type never touch, so one entry must hold it all.
        if region.isEmpty { return true }
        return usableRegions.contains { $0.contains(region) }
    }

    /// Writes the map in boot_params layout; returns the entry count.
    public func encode(into table: UnsafeMutableRawBufferPointer, maximumEntries: Int) throws(BootError) -> Int {
        guard entries.count <= maximumEntries else {
            throw .e820TooManyEntries(count: entries.count, limit: maximumEntries)
        }
        for (index, entry) in entries.enumerated() {
            let offset = index * E820Entry.encodedSize
            table.storeBytes(of: entry.region.start.value.littleEndian, toByteOffset: offset, as: UInt64.self)
            table.storeBytes(of: entry.region.size.littleEndian, toByteOffset: offset + 8, as: UInt64.self)
            table.storeBytes(of: entry.type.rawValue.littleEndian, toByteOffset: offset + 16, as: UInt32.self)
        }
        return entries.count
    }

    /// Splits the address space at every entry boundary, gives each piece
    /// the highest type covering it, and merges neighbours of equal type.
    static func normalized(_ input: [E820Entry]) -> [E820Entry] {
        let entries = input.filter { !$0.region.isEmpty }
        var boundaries: [UInt64] = []
        for entry in entries {
            boundaries.append(entry.region.start.value)
            boundaries.append(entry.region.end.value)
        }
        boundaries.insertionSort(by: <)
        var result: [E820Entry] = []
        var index = 0
        while index + 1 < boundaries.count {
            let start = boundaries[index], end = boundaries[index + 1]
            index += 1
            if start == end { continue }
            var winner: E820Type? = nil
            for entry in entries where entry.region.start.value <= start && entry.region.end.value >= end {
                if winner == nil || entry.type.rawValue > winner!.rawValue { winner = entry.type }
            }
            guard let type = winner else { continue }
            if let last = result.last, last.type == type, last.region.end.value == start {
                result[result.count - 1] = E820Entry(PhysicalRegion(start: last.region.start.value, end: end), type)
            } else {
                result.append(E820Entry(PhysicalRegion(start: start, end: end), type))
            }
        }
        return result
    }
}
