/// QEMU's ACPI "linker/loader" (hw/acpi/bios-linker-loader.c; the fw_cfg
/// file etc/table-loader): 128-byte little-endian commands that tell the
/// firmware where to put the fw_cfg files holding ACPI tables, how to
/// patch the pointers between them, and which checksums to fix up.
///
///   1 ALLOCATE      {char file[56]; u32 align; u8 zone}       zone 1 HIGH, 2 FSEG
///   2 ADD_POINTER   {char dest[56]; char src[56]; u32 offset; u8 size}
///   3 ADD_CHECKSUM  {char file[56]; u32 offset; u32 start; u32 length}
///   4 WRITE_POINTER {char dest[56]; char src[56]; u32 dst_offset; u32 src_offset; u8 size}
///
/// Command 0 pads the file; other unknown commands are skipped, as QEMU's
/// header asks of firmware that predates them.
public enum ACPITableLoader {
    public static let commandSize = 128
    public static let maximumAllocations = 32
    static let nameSize = 56

    public enum Zone: Equatable, Sendable {
        case high, fseg
        public var name: Label { self == .high ? "HIGH" : "FSEG" }
    }

    /// A fw_cfg file placed in guest memory.
    public struct Allocation: Equatable, Sendable {
        public let file: FwCfgFile
        public let region: PhysicalRegion
        public let zone: Zone
    }

    public struct Result: Equatable, Sendable {
        public let allocations: [Allocation]
        /// Where the "RSD PTR " structure landed, for boot_params.acpi_rsdp_addr.
        public let rsdp: PhysicalAddress?
        public let commandsRun: Int
    }

    /// Memory for the two zones: HIGH allocations go down from the top of
    /// `high`, FSEG allocations up from the bottom of `fseg`.
    public struct Zones: Sendable {
        public let high: PhysicalRegion
        public let fseg: PhysicalRegion
        var highNext: UInt64
        var fsegNext: UInt64

        public init(high: PhysicalRegion, fseg: PhysicalRegion) {
            self.high = high
            self.fseg = fseg
            highNext = high.end.value
            fsegNext = fseg.start.value
        }

        mutating func allocate(_ size: UInt64, alignment: UInt64, in zone: Zone) -> PhysicalRegion? {
            switch zone {
            case .high:
                guard size <= highNext - high.start.value else { return nil }
                let start = (highNext - size) & ~(alignment - 1)
                guard start >= high.start.value else { return nil }
                highNext = start
                return PhysicalRegion(start: PhysicalAddress(start), size: size)
            case .fseg:
                let start = (fsegNext + alignment - 1) & ~(alignment - 1)
                guard start >= fsegNext, size <= fseg.end.value, start <= fseg.end.value - size else { return nil }
                fsegNext = start + size
                return PhysicalRegion(start: PhysicalAddress(start), size: size)
            }
        }

        /// Everything handed out in the HIGH zone, page-aligned, for e820.
        public var highUsed: PhysicalRegion {
            PhysicalRegion(start: highNext & ~(pageSize - 1), end: high.end.value)
        }
    }

    /// Runs `commands` (the contents of etc/table-loader): reads each
    /// allocated file from fw_cfg into its zone, then patches it.
    public static func run<Ports: FwCfgPorts, Memory: GuestMemory>(
        commands: UnsafeRawBufferPointer, fwCfg: FwCfg<Ports>, memory: Memory, zones: inout Zones
    ) throws(BootError) -> Result {
        guard commands.count % commandSize == 0 else {
            throw .acpiTableLoaderMalformed(size: UInt64(commands.count))
        }
        var allocations: [Allocation] = []
        var commandsRun = 0
        for index in 0..<(commands.count / commandSize) {
            let command = UnsafeRawBufferPointer(rebasing: commands[(index * commandSize)..<((index + 1) * commandSize)])
            let body = UnsafeRawBufferPointer(rebasing: command[4...])
            switch UInt32(littleEndian: command.loadUnaligned(as: UInt32.self)) {
            case 1:
                guard allocations.count < maximumAllocations else { throw .acpiTooManyAllocations(limit: maximumAllocations) }
                let file = try fileNamed(body, at: 0, command: index, fwCfg: fwCfg)
                let alignment = UInt32(littleEndian: body.loadUnaligned(fromByteOffset: nameSize, as: UInt32.self))
                let zoneByte = body[nameSize + 4]
                guard alignment != 0, alignment & (alignment - 1) == 0 else {
                    throw .acpiBadAlignment(command: index, alignment: alignment)
                }
                guard zoneByte == 1 || zoneByte == 2 else { throw .acpiUnknownZone(command: index, zone: zoneByte) }
                let zone: Zone = zoneByte == 1 ? .high : .fseg
                guard let region = zones.allocate(file.size, alignment: UInt64(alignment), in: zone) else {
                    throw .acpiZoneFull(command: index, name: file.label, size: file.size, zone: zone.name)
                }
                try fwCfg.read(file, into: memory.bytes(of: region))
                allocations.append(Allocation(file: file, region: region, zone: zone))
            case 2:
                let destination = try allocation(body, at: 0, command: index, fwCfg: fwCfg, in: allocations)
                let source = try allocation(body, at: nameSize, command: index, fwCfg: fwCfg, in: allocations)
                let offset = UInt64(UInt32(littleEndian: body.loadUnaligned(fromByteOffset: 2 * nameSize, as: UInt32.self)))
                let size = body[2 * nameSize + 4]
                let bytes = try range(of: destination, offset: offset, length: try pointerSize(size, command: index), command: index, memory: memory)
                store(load(bytes) &+ source.region.start.value, into: bytes)
            case 3:
                let target = try allocation(body, at: 0, command: index, fwCfg: fwCfg, in: allocations)
                let resultOffset = UInt64(UInt32(littleEndian: body.loadUnaligned(fromByteOffset: nameSize, as: UInt32.self)))
                let start = UInt64(UInt32(littleEndian: body.loadUnaligned(fromByteOffset: nameSize + 4, as: UInt32.self)))
                let length = UInt64(UInt32(littleEndian: body.loadUnaligned(fromByteOffset: nameSize + 8, as: UInt32.self)))
                let result = try range(of: target, offset: resultOffset, length: 1, command: index, memory: memory)
                let covered = try range(of: target, offset: start, length: length, command: index, memory: memory)
                // ACPI 6.5, 5.2.5/5.2.6: the bytes of a table, checksum included, sum to zero.
                var sum: UInt8 = 0
                for byte in covered { sum &+= byte }
                result[0] &-= sum
            case 4:
                let destinationFile = try fileNamed(body, at: 0, command: index, fwCfg: fwCfg)
                let source = try allocation(body, at: nameSize, command: index, fwCfg: fwCfg, in: allocations)
                let destinationOffset = UInt64(UInt32(littleEndian: body.loadUnaligned(fromByteOffset: 2 * nameSize, as: UInt32.self)))
                let sourceOffset = UInt64(UInt32(littleEndian: body.loadUnaligned(fromByteOffset: 2 * nameSize + 4, as: UInt32.self)))
                let size = try pointerSize(body[2 * nameSize + 8], command: index)
                guard sourceOffset < source.region.size else {
                    throw .acpiRangeOutsideFile(command: index, name: source.file.label, offset: sourceOffset,
                                                length: 1, size: source.region.size)
                }
                var value = (source.region.start.value + sourceOffset).littleEndian
                try withUnsafeBytes(of: &value) { (bytes: UnsafeRawBufferPointer) throws(BootError) in
                    try fwCfg.write(destinationFile, at: destinationOffset,
                                    from: UnsafeRawBufferPointer(rebasing: bytes[0..<Int(size)]))
                }
            default:
                continue
            }
            commandsRun += 1
        }
        return Result(allocations: allocations, rsdp: findRSDP(in: allocations, memory: memory), commandsRun: commandsRun)
    }

    /// The fw_cfg file whose NUL-padded name starts at `offset` of `body`.
    static func fileNamed<Ports: FwCfgPorts>(_ body: UnsafeRawBufferPointer, at offset: Int, command: Int,
                                             fwCfg: FwCfg<Ports>) throws(BootError) -> FwCfgFile {
        let field = UnsafeRawBufferPointer(rebasing: body[offset..<(offset + nameSize)])
        let name = UnsafeRawBufferPointer(rebasing: field[0..<(field.firstIndex(of: 0) ?? nameSize)])
        guard let file = fwCfg.directory.file(named: name) else {
            throw .acpiUnknownFile(command: command, name: Label(bytes: name))
        }
        return file
    }

    static func allocation<Ports: FwCfgPorts>(_ body: UnsafeRawBufferPointer, at offset: Int, command: Int,
                                              fwCfg: FwCfg<Ports>, in allocations: [Allocation]) throws(BootError) -> Allocation {
        let file = try fileNamed(body, at: offset, command: command, fwCfg: fwCfg)
        guard let found = allocations.first(where: { $0.file.selector == file.selector }) else {
            throw .acpiFileNotAllocated(command: command, name: file.label)
        }
        return found
    }

    static func pointerSize(_ size: UInt8, command: Int) throws(BootError) -> UInt64 {
        guard size == 1 || size == 2 || size == 4 || size == 8 else { throw .acpiBadPointerSize(command: command, size: size) }
        return UInt64(size)
    }

    static func range<Memory: GuestMemory>(of allocation: Allocation, offset: UInt64, length: UInt64, command: Int,
                                           memory: Memory) throws(BootError) -> UnsafeMutableRawBufferPointer {
        guard offset <= allocation.region.size, length <= allocation.region.size - offset else {
            throw .acpiRangeOutsideFile(command: command, name: allocation.file.label, offset: offset,
                                        length: length, size: allocation.region.size)
        }
        return memory.bytes(of: PhysicalRegion(start: allocation.region.start.advanced(by: offset), size: length))
    }

    /// A little-endian integer of the buffer's width (1, 2, 4 or 8 bytes).
    static func load(_ bytes: UnsafeMutableRawBufferPointer) -> UInt64 {
        var value: UInt64 = 0
        for (shift, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * UInt64(shift)) }
        return value
    }

    static func store(_ value: UInt64, into bytes: UnsafeMutableRawBufferPointer) {
        for index in 0..<bytes.count { bytes[index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
    }

    /// ACPI 6.5, 5.2.5.3: the RSDP starts with "RSD PTR " on a 16-byte boundary.
    static func findRSDP<Memory: GuestMemory>(in allocations: [Allocation], memory: Memory) -> PhysicalAddress? {
        let signature: StaticString = "RSD PTR "
        for allocation in allocations where allocation.region.size >= 8 {
            let bytes = memory.bytes(of: PhysicalRegion(start: allocation.region.start, size: 8))
            var matches = true
            for index in 0..<8 where bytes[index] != signature.utf8Start[index] { matches = false }
            if matches { return allocation.region.start }
        }
        return nil
    }
}
