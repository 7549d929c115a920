// QEMU's ACPI linker/loader (hw/acpi/bios-linker-loader.c, the fw_cfg file
// etc/table-loader): the real commands, tables and RSDP of QEMU 7.2's
// microvm, and hand-made commands for each check.

import Foundation
import Testing
@testable import Loader

/// QEMU 7.2 microvm's etc/table-loader, etc/acpi/tables and etc/acpi/rsdp (see Fixtures/README.md).
struct MicrovmACPI: CustomTestStringConvertible, Sendable {
    let cpus: Int
    let tableLoader: [UInt8]
    let tables: [UInt8]
    let rsdp: [UInt8]
    /// The table-loader's commands; none is padding or WRITE_POINTER.
    let commandCount = 13
    /// Where each table starts in etc/acpi/tables.
    let offsets: [String: Int]

    var testDescription: String { "microvm -smp \(cpus)" }

    static let smp2 = MicrovmACPI(cpus: 2, offsets: ["DSDT": 0, "FACP": 0x150, "APIC": 0x25C, "XSDT": 0x2B6])
    static let smp4 = MicrovmACPI(cpus: 4, offsets: ["DSDT": 0, "FACP": 0x150, "APIC": 0x25C, "XSDT": 0x2C6])
    static let all = [smp2, smp4]

    private init(cpus: Int, offsets: [String: Int]) {
        self.cpus = cpus
        self.offsets = offsets
        tableLoader = MicrovmACPI.fixture("microvm-smp\(cpus)-table-loader")
        tables = MicrovmACPI.fixture("microvm-smp\(cpus)-acpi-tables")
        rsdp = MicrovmACPI.fixture("microvm-smp\(cpus)-acpi-rsdp")
    }

    private static func fixture(_ name: String) -> [UInt8] {
        let url = Bundle.module.url(forResource: name, withExtension: "bin", subdirectory: "Fixtures")!
        return Array(try! Data(contentsOf: url))
    }

    /// The three files, as QEMU lists them (rsdp, tables, ..., table-loader).
    var files: [FakeFile] {
        [FakeFile("etc/acpi/rsdp", bytes: rsdp), FakeFile("etc/acpi/tables", bytes: tables),
         FakeFile("etc/table-loader", bytes: tableLoader)]
    }
}

/// Table-loader commands, 128 bytes each, laid out as in bios-linker-loader.c.
enum LoaderCommand {
    static func allocate(_ file: String, alignment: UInt32 = 16, zone: UInt8 = 1) -> [UInt8] {
        var command = header(1)
        put(file, at: 4, in: &command)
        command.store(alignment, at: 60)
        command[64] = zone
        return command
    }

    static func addPointer(into destination: String, at offset: UInt32, size: UInt8, pointingTo source: String) -> [UInt8] {
        var command = header(2)
        put(destination, at: 4, in: &command)
        put(source, at: 60, in: &command)
        command.store(offset, at: 116)
        command[120] = size
        return command
    }

    static func addChecksum(_ file: String, at offset: UInt32, start: UInt32, length: UInt32) -> [UInt8] {
        var command = header(3)
        put(file, at: 4, in: &command)
        command.store(offset, at: 60)
        command.store(start, at: 64)
        command.store(length, at: 68)
        return command
    }

    static func writePointer(into destination: String, at destinationOffset: UInt32, size: UInt8,
                             pointingTo source: String, offset sourceOffset: UInt32) -> [UInt8] {
        var command = header(4)
        put(destination, at: 4, in: &command)
        put(source, at: 60, in: &command)
        command.store(destinationOffset, at: 116)
        command.store(sourceOffset, at: 120)
        command[124] = size
        return command
    }

    /// A command of another type, the rest of it `filler`.
    static func other(_ type: UInt32, filler: UInt8 = 0) -> [UInt8] {
        var command = [UInt8](repeating: filler, count: ACPITableLoader.commandSize)
        command.store(type, at: 0)
        return command
    }

    private static func header(_ type: UInt32) -> [UInt8] { other(type) }

    private static func put(_ name: String, at offset: Int, in command: inout [UInt8]) {
        let bytes = Array(name.utf8)
        precondition(bytes.count < 56)
        command.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
    }
}

/// The zones Boot.swift uses with -m 1G: the top 1 MiB of RAM for HIGH,
/// 8 KiB at 0xFDC00 (memory_layout.h) for FSEG.
func bootZones(ramTop: UInt64 = gibibyte) -> ACPITableLoader.Zones {
    ACPITableLoader.Zones(high: PhysicalRegion(start: ramTop - mebibyte, end: ramTop),
                          fseg: PhysicalRegion(start: PhysicalAddress(0xF_DC00), size: 0x2000))
}

/// Runs `commands` against a fake fw_cfg serving `files`.
func runTableLoader(_ commands: [UInt8], files: [FakeFile], ram: FakeRAM, zones: inout ACPITableLoader.Zones,
                    device: FakeFwCfg? = nil) throws -> ACPITableLoader.Result {
    let device = device ?? FakeFwCfg(files: files)
    let fwCfg = try makeFwCfg(device)
    return try commands.withUnsafeBytes { bytes throws(BootError) in
        try ACPITableLoader.run(commands: bytes, fwCfg: fwCfg, memory: ram, zones: &zones)
    }
}

/// The same, for a check that expects `error`.
func tableLoaderError(_ commands: [UInt8], files: [FakeFile], zones: ACPITableLoader.Zones = bootZones()) -> BootError? {
    var zones = zones
    do {
        _ = try runTableLoader(commands, files: files, ram: FakeRAM(size: gibibyte), zones: &zones)
        return nil
    } catch let error as BootError {
        return error
    } catch {
        Issue.record("not a BootError: \(error)")
        return nil
    }
}

/// An ACPI table (or the RSDP) read back from guest memory.
struct GuestTable {
    let address: UInt64
    let bytes: [UInt8]

    init(_ ram: FakeRAM, at address: UInt64) {
        let length = Int(ram.read(address + 4, count: 4).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
        self.address = address
        bytes = ram.read(address, count: length)
    }

    init(_ ram: FakeRAM, at address: UInt64, length: Int) {
        self.address = address
        bytes = ram.read(address, count: length)
    }

    var signature: String { String(decoding: bytes[0..<4], as: UTF8.self) }
    /// ACPI 6.5, 5.2.6: all `Length` bytes, checksum included, sum to zero.
    var sumsToZero: Bool { sum(0..<bytes.count) == 0 }
    func sum(_ range: Range<Int>) -> UInt8 { bytes[range].reduce(0, &+) }
    func u32(at offset: Int) -> UInt64 { UInt64(load(UInt32.self, at: offset)) }
    func u64(at offset: Int) -> UInt64 { load(UInt64.self, at: offset) }

    private func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        T(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) })
    }
}

/// The sum of some bytes, mod 256: what ACPI checksums make zero.
func byteSum(_ bytes: ArraySlice<UInt8>) -> UInt8 { bytes.reduce(0, &+) }

@Suite("ACPI table-loader: QEMU microvm's own commands")
struct ACPITableLoaderMicrovmTests {
    /// Runs the fixture's table-loader as the firmware does and returns what it left.
    func load(_ acpi: MicrovmACPI) throws -> (result: ACPITableLoader.Result, zones: ACPITableLoader.Zones, ram: FakeRAM) {
        let ram = FakeRAM(size: gibibyte)
        var zones = bootZones()
        let result = try runTableLoader(acpi.tableLoader, files: acpi.files, ram: ram, zones: &zones)
        return (result, zones, ram)
    }

    func tablesBase(_ result: ACPITableLoader.Result) -> UInt64 {
        result.allocations.first { $0.file.name == "etc/acpi/tables" }!.region.start.value
    }

    @Test("the captured table-loader is whole 128-byte commands ending in the RSDP's extended checksum",
          arguments: MicrovmACPI.all)
    func fixtureIsWhole(acpi: MicrovmACPI) {
        #expect(acpi.tableLoader.count == acpi.commandCount * ACPITableLoader.commandSize)
        #expect(acpi.rsdp.count == 36)
        #expect(Array(acpi.rsdp[0..<8]) == Array("RSD PTR ".utf8))
        #expect(Array(acpi.tables[0..<4]) == Array("DSDT".utf8))
    }

    @Test("QEMU leaves the checksums to the firmware: before loading, the DSDT's and the RSDP's do not sum to zero",
          arguments: MicrovmACPI.all)
    func checksumsAreTheFirmwaresJob(acpi: MicrovmACPI) {
        #expect(acpi.tables[9] == 0 && byteSum(acpi.tables[0..<336]) != 0)
        #expect(acpi.rsdp[8] == 0 && byteSum(acpi.rsdp[0..<20]) != 0)
    }

    @Test("all of microvm's 13 commands run", arguments: MicrovmACPI.all)
    func allCommandsRun(acpi: MicrovmACPI) throws {
        let (result, _, _) = try load(acpi)
        #expect(result.commandsRun == 13)
        #expect(result.allocations.map(\.file.name) == ["etc/acpi/rsdp", "etc/acpi/tables"])
    }

    @Test("the RSDP goes at the bottom of the FSEG zone, 16-aligned, and is found by its signature",
          arguments: MicrovmACPI.all)
    func rsdpInFSEG(acpi: MicrovmACPI) throws {
        let (result, _, ram) = try load(acpi)
        let rsdp = try #require(result.allocations.first)
        #expect(rsdp.file.name == "etc/acpi/rsdp")
        #expect(rsdp.zone == .fseg)
        #expect(rsdp.region == PhysicalRegion(start: PhysicalAddress(0xF_DC00), size: 36))
        #expect(rsdp.region.start.value % 16 == 0)
        #expect(result.rsdp == rsdp.region.start)
        #expect(ram.read(0xF_DC00, count: 8) == Array("RSD PTR ".utf8))
    }

    @Test("the tables go at the top of the HIGH zone, 64-aligned as asked", arguments: MicrovmACPI.all)
    func tablesAtTopOfHigh(acpi: MicrovmACPI) throws {
        let (result, zones, _) = try load(acpi)
        let tables = try #require(result.allocations.last)
        #expect(tables.file.name == "etc/acpi/tables")
        #expect(tables.zone == .high)
        let size = UInt64(acpi.tables.count)
        #expect(tables.region == PhysicalRegion(start: PhysicalAddress((gibibyte - size) & ~63), size: size))
        #expect(zones.high.contains(tables.region))
        #expect(zones.high.end.value - tables.region.end.value < 64)
    }

    @Test("the RSDP's 20-byte checksum and its 36-byte extended checksum are both valid", arguments: MicrovmACPI.all)
    func rsdpChecksums(acpi: MicrovmACPI) throws {
        let (result, _, ram) = try load(acpi)
        let rsdp = GuestTable(ram, at: try #require(result.rsdp).value, length: 36)
        #expect(rsdp.bytes[15] == 2)                  // ACPI 2.0+: revision 2, with the XSDT
        #expect(rsdp.u32(at: 20) == 36)               // Length
        #expect(rsdp.sum(0..<20) == 0)
        #expect(rsdp.sum(0..<36) == 0)
    }

    @Test("the RSDP points at the XSDT where it was placed, and has no RSDT", arguments: MicrovmACPI.all)
    func rsdpPointsAtXSDT(acpi: MicrovmACPI) throws {
        let (result, _, ram) = try load(acpi)
        let rsdp = GuestTable(ram, at: try #require(result.rsdp).value, length: 36)
        #expect(rsdp.u32(at: 16) == 0)
        #expect(rsdp.u64(at: 24) == tablesBase(result) + UInt64(acpi.offsets["XSDT"]!))
        #expect(GuestTable(ram, at: rsdp.u64(at: 24)).signature == "XSDT")
    }

    @Test("the XSDT's entries are the placed addresses of the FACP and the APIC", arguments: MicrovmACPI.all)
    func xsdtEntries(acpi: MicrovmACPI) throws {
        let (result, _, ram) = try load(acpi)
        let base = tablesBase(result)
        let xsdt = GuestTable(ram, at: base + UInt64(acpi.offsets["XSDT"]!))
        #expect(xsdt.bytes.count == 36 + 2 * 8)
        let entries = [xsdt.u64(at: 36), xsdt.u64(at: 44)]
        #expect(entries == [base + UInt64(acpi.offsets["FACP"]!), base + UInt64(acpi.offsets["APIC"]!)])
        #expect(entries.map { GuestTable(ram, at: $0).signature } == ["FACP", "APIC"])
    }

    @Test("the FACP's DSDT and X_DSDT both point at the placed DSDT", arguments: MicrovmACPI.all)
    func facpPointsAtDSDT(acpi: MicrovmACPI) throws {
        let (result, _, ram) = try load(acpi)
        let base = tablesBase(result)
        let facp = GuestTable(ram, at: base + UInt64(acpi.offsets["FACP"]!))
        #expect(facp.signature == "FACP")
        #expect(facp.u32(at: 40) == base)             // DSDT (32-bit)
        #expect(facp.u64(at: 140) == base)            // X_DSDT
        #expect(GuestTable(ram, at: facp.u64(at: 140)).signature == "DSDT")
    }

    @Test("walking RSDP -> XSDT -> FACP, APIC and the FACP's DSDT, every table's checksum is valid",
          arguments: MicrovmACPI.all)
    func everyChecksumValid(acpi: MicrovmACPI) throws {
        let (result, _, ram) = try load(acpi)
        let rsdp = GuestTable(ram, at: try #require(result.rsdp).value, length: 36)
        let xsdt = GuestTable(ram, at: rsdp.u64(at: 24))
        var tables = [xsdt]
        for entry in stride(from: 36, to: xsdt.bytes.count, by: 8) {
            tables.append(GuestTable(ram, at: xsdt.u64(at: entry)))
        }
        let facp = try #require(tables.first { $0.signature == "FACP" })
        tables.append(GuestTable(ram, at: facp.u64(at: 140)))
        #expect(tables.map(\.signature) == ["XSDT", "FACP", "APIC", "DSDT"])
        for table in tables {
            #expect(table.sumsToZero, "\(table.signature) at \(Text.hex(table.address))")
        }
    }

    @Test("the MADT lists one enabled Local APIC per CPU", arguments: MicrovmACPI.all)
    func madtListsTheCPUs(acpi: MicrovmACPI) throws {
        let (result, _, ram) = try load(acpi)
        let apic = GuestTable(ram, at: tablesBase(result) + UInt64(acpi.offsets["APIC"]!))
        var localAPICs: [UInt8] = []
        var offset = 44
        while offset + 2 <= apic.bytes.count {
            let (type, length) = (apic.bytes[offset], Int(apic.bytes[offset + 1]))
            if type == 0 && apic.bytes[offset + 4] & 1 != 0 { localAPICs.append(apic.bytes[offset + 3]) }
            offset += max(length, 2)
        }
        #expect(localAPICs == (0..<acpi.cpus).map { UInt8($0) })
    }

    @Test("highUsed is the page-aligned span of the HIGH zone the tables occupy", arguments: MicrovmACPI.all)
    func highUsedCoversTables(acpi: MicrovmACPI) throws {
        let (result, zones, _) = try load(acpi)
        let used = zones.highUsed
        #expect(used == PhysicalRegion(start: gibibyte - pageSize, end: gibibyte))
        #expect(used.start.value % pageSize == 0 && used.end.value % pageSize == 0)
        for allocation in result.allocations where allocation.zone == .high {
            #expect(used.contains(allocation.region))
        }
    }

    @Test("only the allocated files are read from fw_cfg, each into its region")
    func filesReadIntoTheirRegions() throws {
        let acpi = MicrovmACPI.smp2
        let device = FakeFwCfg(files: acpi.files)
        let ram = FakeRAM(size: gibibyte)
        var zones = bootZones()
        let result = try runTableLoader(acpi.tableLoader, files: [], ram: ram, zones: &zones, device: device)
        let reads = device.dmaTransfers.filter(\.reads)
        #expect(reads.map(\.selector) == [device.selector(of: "etc/acpi/rsdp")!, device.selector(of: "etc/acpi/tables")!])
        #expect(reads.map { ram.guestAddress(ofHost: $0.address) } == result.allocations.map { Optional($0.region.start.value) })
        #expect(reads.map(\.length) == [36, UInt32(acpi.tables.count)])
    }

    @Test("by port I/O the loader leaves the same bytes as by DMA")
    func portIOGivesTheSameTables() throws {
        let acpi = MicrovmACPI.smp2
        func loaded(prefersPortIO: Bool) throws -> [UInt8] {
            let device = FakeFwCfg(files: acpi.files)
            let ram = FakeRAM(size: gibibyte)
            var zones = bootZones()
            let fwCfg = try makeFwCfg(device, prefersPortIO: prefersPortIO)
            let result = try acpi.tableLoader.withUnsafeBytes { bytes throws(BootError) in
                try ACPITableLoader.run(commands: bytes, fwCfg: fwCfg, memory: ram, zones: &zones)
            }
            #expect(device.dmaTransfers.isEmpty == prefersPortIO)
            return result.allocations.flatMap { ram.read($0.region.start.value, count: Int($0.region.size)) }
        }
        #expect(try loaded(prefersPortIO: true) == loaded(prefersPortIO: false))
    }
}

/// Small files for hand-made commands.
let sixteenBytes = FakeFile("etc/acpi/a", bytes: pattern(count: 16, seed: 1))
let otherSixteenBytes = FakeFile("etc/acpi/b", bytes: pattern(count: 16, seed: 2))

@Suite("ACPI table-loader: malformed commands")
struct ACPITableLoaderMalformedTests {
    @Test("a table-loader that is not whole 128-byte commands is refused before anything runs")
    func sizeNotMultipleOf128() throws {
        let acpi = MicrovmACPI.smp2
        let device = FakeFwCfg(files: acpi.files)
        let fwCfg = try makeFwCfg(device)
        device.clearEvents()
        var zones = bootZones()
        let truncated = Array(acpi.tableLoader.dropLast())
        #expect(throws: BootError.acpiTableLoaderMalformed(size: 1663)) {
            try truncated.withUnsafeBytes { bytes throws(BootError) in
                try ACPITableLoader.run(commands: bytes, fwCfg: fwCfg, memory: FakeRAM(size: gibibyte), zones: &zones)
            }
        }
        #expect(device.events.isEmpty)
    }

    @Test("ALLOCATE of a file fw_cfg does not have names the command and the file")
    func allocateUnknownFile() {
        let commands = LoaderCommand.allocate("etc/acpi/a") + LoaderCommand.allocate("etc/acpi/nvdimm-mem")
        #expect(tableLoaderError(commands, files: [sixteenBytes])
                == .acpiUnknownFile(command: 1, name: "etc/acpi/nvdimm-mem"))
    }

    @Test("a name filling all 56 bytes, without its NUL, is no file")
    func unterminatedName() {
        var command = LoaderCommand.allocate("")
        command.replaceSubrange(4..<60, with: [UInt8](repeating: UInt8(ascii: "x"), count: 56))
        #expect(tableLoaderError(command, files: [sixteenBytes])
                == .acpiUnknownFile(command: 0, name: Label(String(repeating: "x", count: 56))))
    }

    @Test("ADD_POINTER into a file not yet allocated fails, as QEMU's RSDP before its tables would")
    func addPointerBeforeAllocate() {
        let commands = LoaderCommand.allocate("etc/acpi/a")
            + LoaderCommand.addPointer(into: "etc/acpi/b", at: 0, size: 8, pointingTo: "etc/acpi/a")
        #expect(tableLoaderError(commands, files: [sixteenBytes, otherSixteenBytes])
                == .acpiFileNotAllocated(command: 1, name: "etc/acpi/b"))
    }

    @Test("ADD_POINTER to a source not yet allocated fails")
    func addPointerToUnallocatedSource() {
        let commands = LoaderCommand.allocate("etc/acpi/a")
            + LoaderCommand.addPointer(into: "etc/acpi/a", at: 0, size: 8, pointingTo: "etc/acpi/b")
        #expect(tableLoaderError(commands, files: [sixteenBytes, otherSixteenBytes])
                == .acpiFileNotAllocated(command: 1, name: "etc/acpi/b"))
    }

    @Test("a pointer that runs past the end of its file names the offset, the length and the file's size")
    func pointerPastEnd() {
        let commands = LoaderCommand.allocate("etc/acpi/a")
            + LoaderCommand.addPointer(into: "etc/acpi/a", at: 12, size: 8, pointingTo: "etc/acpi/a")
        #expect(tableLoaderError(commands, files: [sixteenBytes])
                == .acpiRangeOutsideFile(command: 1, name: "etc/acpi/a", offset: 12, length: 8, size: 16))
    }

    @Test("a pointer offset beyond the end of the file is refused, not wrapped")
    func pointerOffsetFarPastEnd() {
        let commands = LoaderCommand.allocate("etc/acpi/a")
            + LoaderCommand.addPointer(into: "etc/acpi/a", at: 0xFFFF_FFFF, size: 8, pointingTo: "etc/acpi/a")
        #expect(tableLoaderError(commands, files: [sixteenBytes])
                == .acpiRangeOutsideFile(command: 1, name: "etc/acpi/a", offset: 0xFFFF_FFFF, length: 8, size: 16))
    }

    @Test("a pointer of 3 bytes is refused")
    func pointerSizeThree() {
        let commands = LoaderCommand.allocate("etc/acpi/a")
            + LoaderCommand.addPointer(into: "etc/acpi/a", at: 0, size: 3, pointingTo: "etc/acpi/a")
        #expect(tableLoaderError(commands, files: [sixteenBytes]) == .acpiBadPointerSize(command: 1, size: 3))
    }

    @Test("a checksum over bytes past the end of the file is refused")
    func checksumRangePastEnd() {
        let commands = LoaderCommand.allocate("etc/acpi/a")
            + LoaderCommand.addChecksum("etc/acpi/a", at: 9, start: 0, length: 17)
        #expect(tableLoaderError(commands, files: [sixteenBytes])
                == .acpiRangeOutsideFile(command: 1, name: "etc/acpi/a", offset: 0, length: 17, size: 16))
    }

    @Test("a checksum byte past the end of the file is refused")
    func checksumResultPastEnd() {
        let commands = LoaderCommand.allocate("etc/acpi/a")
            + LoaderCommand.addChecksum("etc/acpi/a", at: 16, start: 0, length: 16)
        #expect(tableLoaderError(commands, files: [sixteenBytes])
                == .acpiRangeOutsideFile(command: 1, name: "etc/acpi/a", offset: 16, length: 1, size: 16))
    }

    @Test("an alignment of 3, not a power of two, is refused")
    func alignmentThree() {
        #expect(tableLoaderError(LoaderCommand.allocate("etc/acpi/a", alignment: 3), files: [sixteenBytes])
                == .acpiBadAlignment(command: 0, alignment: 3))
    }

    @Test("zone 7, neither HIGH (1) nor FSEG (2), is refused")
    func zoneSeven() {
        #expect(tableLoaderError(LoaderCommand.allocate("etc/acpi/a", zone: 7), files: [sixteenBytes])
                == .acpiUnknownZone(command: 0, zone: 7))
    }

    @Test("a 33rd allocation is refused")
    func thirtyThreeAllocations() {
        let files = (0..<33).map { FakeFile("etc/acpi/f\($0)", bytes: pattern(count: 16, seed: UInt8($0))) }
        let commands = files.flatMap { LoaderCommand.allocate($0.name) }
        #expect(tableLoaderError(commands, files: files) == .acpiTooManyAllocations(limit: 32))
        #expect(tableLoaderError(Array(commands.dropLast(128)), files: files) == nil)
    }

    @Test("a file bigger than the FSEG zone does not fit, and the error names it and the zone")
    func fileBiggerThanFSEG() {
        let big = FakeFile("etc/acpi/rsdp", bytes: [], declaredSize: 0x2001)
        #expect(tableLoaderError(LoaderCommand.allocate("etc/acpi/rsdp", zone: 2), files: [big])
                == .acpiZoneFull(command: 0, name: "etc/acpi/rsdp", size: 0x2001, zone: "FSEG"))
    }

    @Test("a file bigger than the HIGH zone does not fit")
    func fileBiggerThanHigh() {
        let big = FakeFile("etc/acpi/tables", bytes: [], declaredSize: Int(mebibyte) + 1)
        #expect(tableLoaderError(LoaderCommand.allocate("etc/acpi/tables", zone: 1), files: [big])
                == .acpiZoneFull(command: 0, name: "etc/acpi/tables", size: mebibyte + 1, zone: "HIGH"))
    }

    @Test("a file that fits the zone but not what earlier allocations left of it does not fit")
    func zoneFilledByEarlierAllocation() {
        let first = FakeFile("etc/acpi/a", bytes: [], declaredSize: 0x1800)
        let second = FakeFile("etc/acpi/b", bytes: [], declaredSize: 0x1000)
        let commands = LoaderCommand.allocate("etc/acpi/a", zone: 2) + LoaderCommand.allocate("etc/acpi/b", zone: 2)
        #expect(tableLoaderError(commands, files: [first, second])
                == .acpiZoneFull(command: 1, name: "etc/acpi/b", size: 0x1000, zone: "FSEG"))
    }
}

@Suite("ACPI table-loader: commands one by one")
struct ACPITableLoaderCommandTests {
    @Test("an unknown command (0x99) and padding (command 0) are skipped and not counted")
    func unknownAndPaddingSkipped() throws {
        let commands = LoaderCommand.allocate("etc/acpi/a", zone: 2)
            + LoaderCommand.other(0x99, filler: 0xA5)
            + LoaderCommand.other(0)
            + LoaderCommand.addChecksum("etc/acpi/a", at: 9, start: 0, length: 16)
        let ram = FakeRAM(size: gibibyte)
        var zones = bootZones()
        let result = try runTableLoader(commands, files: [sixteenBytes], ram: ram, zones: &zones)
        #expect(result.commandsRun == 2)
        #expect(byteSum(ram.read(0xF_DC00, count: 16)[...]) == 0)
    }

    @Test("ALLOCATE in HIGH goes down from the top, each file below the last, aligned down")
    func highAllocationsGoDown() throws {
        let commands = LoaderCommand.allocate("etc/acpi/a", alignment: 16) + LoaderCommand.allocate("etc/acpi/b", alignment: 4096)
        let ram = FakeRAM(size: gibibyte)
        var zones = bootZones()
        let result = try runTableLoader(commands, files: [sixteenBytes, otherSixteenBytes], ram: ram, zones: &zones)
        #expect(result.allocations.map(\.region) == [PhysicalRegion(start: gibibyte - 16, end: gibibyte),
                                                     PhysicalRegion(start: gibibyte - 4096, end: gibibyte - 4080)])
        #expect(ram.read(gibibyte - 16, count: 16) == sixteenBytes.bytes)
        #expect(ram.read(gibibyte - 4096, count: 16) == otherSixteenBytes.bytes)
        #expect(zones.highUsed == PhysicalRegion(start: gibibyte - 4096, end: gibibyte))
    }

    @Test("ALLOCATE in FSEG goes up from the bottom, aligned up")
    func fsegAllocationsGoUp() throws {
        let commands = LoaderCommand.allocate("etc/acpi/a", alignment: 1, zone: 2)
            + LoaderCommand.allocate("etc/acpi/b", alignment: 64, zone: 2)
        var zones = ACPITableLoader.Zones(high: PhysicalRegion(start: gibibyte - mebibyte, end: gibibyte),
                                          fseg: PhysicalRegion(start: 0xF_0004, end: 0xF_2000))
        let result = try runTableLoader(commands, files: [sixteenBytes, otherSixteenBytes], ram: FakeRAM(size: gibibyte),
                                        zones: &zones)
        #expect(result.allocations.map(\.region) == [PhysicalRegion(start: 0xF_0004, end: 0xF_0014),
                                                     PhysicalRegion(start: 0xF_0040, end: 0xF_0050)])
        #expect(result.allocations.map(\.zone) == [.fseg, .fseg])
        #expect(zones.highUsed.isEmpty)
    }

    @Test("no file starting with \"RSD PTR \" means no RSDP")
    func noRSDP() throws {
        var zones = bootZones()
        let result = try runTableLoader(LoaderCommand.allocate("etc/acpi/a"), files: [sixteenBytes],
                                        ram: FakeRAM(size: gibibyte), zones: &zones)
        #expect(result.rsdp == nil)
    }

    @Test("ADD_POINTER adds the source's address to the little-endian value already there, for each pointer size",
          arguments: [1, 2, 4, 8] as [UInt8])
    func addPointerAddsAddress(size: UInt8) throws {
        // The source at 0xF1234 (FSEG, alignment 1); the destination holds
        // 0x0807060504030201 at offset 4 among 0xEE bytes.
        let source = FakeFile("etc/acpi/src", bytes: pattern(count: 32, seed: 3))
        var destinationBytes = [UInt8](repeating: 0xEE, count: 16)
        destinationBytes.replaceSubrange(4..<12, with: [1, 2, 3, 4, 5, 6, 7, 8])
        let destination = FakeFile("etc/acpi/dst", bytes: destinationBytes)
        let commands = LoaderCommand.allocate("etc/acpi/src", alignment: 1, zone: 2)
            + LoaderCommand.allocate("etc/acpi/dst", alignment: 16, zone: 1)
            + LoaderCommand.addPointer(into: "etc/acpi/dst", at: 4, size: size, pointingTo: "etc/acpi/src")
        var zones = ACPITableLoader.Zones(high: PhysicalRegion(start: gibibyte - mebibyte, end: gibibyte),
                                          fseg: PhysicalRegion(start: 0xF_1234, end: 0xF_3000))
        let ram = FakeRAM(size: gibibyte)
        let result = try runTableLoader(commands, files: [source, destination], ram: ram, zones: &zones)
        #expect(result.allocations[0].region.start.value == 0xF_1234)

        let width = Int(size)
        let before = destinationBytes[4..<(4 + width)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        var expected = destinationBytes
        let sum = before &+ 0xF_1234
        for index in 0..<width { expected[4 + index] = UInt8(truncatingIfNeeded: sum >> (8 * UInt64(index))) }
        #expect(ram.read(gibibyte - 16, count: 16) == expected)
    }

    @Test("ADD_POINTER of 8 bytes turns an offset in the source into the address of that byte")
    func addPointerOffsetBecomesAddress() throws {
        var destinationBytes = [UInt8](repeating: 0, count: 16)
        destinationBytes.store(UInt64(5), at: 8)
        let commands = LoaderCommand.allocate("etc/acpi/a", alignment: 16, zone: 1)
            + LoaderCommand.allocate("etc/acpi/b", alignment: 16, zone: 2)
            + LoaderCommand.addPointer(into: "etc/acpi/b", at: 8, size: 8, pointingTo: "etc/acpi/a")
        let ram = FakeRAM(size: gibibyte)
        var zones = bootZones()
        _ = try runTableLoader(commands, files: [sixteenBytes, FakeFile("etc/acpi/b", bytes: destinationBytes)],
                               ram: ram, zones: &zones)
        let pointer = GuestTable(ram, at: 0xF_DC00, length: 16).u64(at: 8)
        #expect(pointer == gibibyte - 16 + 5)
        #expect(ram.read(pointer, count: 1) == [sixteenBytes.bytes[5]])
    }

    @Test("ADD_CHECKSUM sets the byte so that the range sums to zero, whatever was in it")
    func addChecksumMakesRangeSumToZero() throws {
        let commands = LoaderCommand.allocate("etc/acpi/a", zone: 2)
            + LoaderCommand.addChecksum("etc/acpi/a", at: 3, start: 2, length: 10)
        let ram = FakeRAM(size: gibibyte)
        var zones = bootZones()
        _ = try runTableLoader(commands, files: [sixteenBytes], ram: ram, zones: &zones)
        let loaded = ram.read(0xF_DC00, count: 16)
        #expect(byteSum(loaded[2..<12]) == 0)
        var others = loaded
        others[3] = sixteenBytes.bytes[3]
        #expect(others == sixteenBytes.bytes)   // only the checksum byte changed
    }
}

@Suite("ACPI table-loader: WRITE_POINTER")
struct ACPITableLoaderWritePointerTests {
    /// vmgenid's pattern (hw/acpi/vmgenid.c): the GUID buffer allocated in
    /// HIGH, its address written back into the writable etc/vmgenid_addr.
    let guid = FakeFile("etc/vmgenid_guid", bytes: pattern(count: 4096, seed: 7))
    let address = FakeFile("etc/vmgenid_addr", bytes: [UInt8](repeating: 0, count: 16), writable: true)

    func commands(at destinationOffset: UInt32 = 0, size: UInt8 = 8, sourceOffset: UInt32 = 40) -> [UInt8] {
        LoaderCommand.allocate("etc/vmgenid_guid", alignment: 4096, zone: 1)
            + LoaderCommand.writePointer(into: "etc/vmgenid_addr", at: destinationOffset, size: size,
                                         pointingTo: "etc/vmgenid_guid", offset: sourceOffset)
    }

    @Test("WRITE_POINTER writes the source's address plus src_offset into the fw_cfg file, by DMA")
    func writesAddressBack() throws {
        let device = FakeFwCfg(files: [guid, address])
        var zones = bootZones()
        let result = try runTableLoader(commands(), files: [], ram: FakeRAM(size: gibibyte), zones: &zones, device: device)
        #expect(result.commandsRun == 2)
        let placed = result.allocations[0].region.start.value
        #expect(placed == gibibyte - 4096)
        let selector = try #require(device.selector(of: "etc/vmgenid_addr"))
        #expect(device.writes == [FakeFwCfg.Write(selector: selector, offset: 0, bytes: littleEndianBytes(placed + 40))])
        #expect(device.contents(of: "etc/vmgenid_addr") == littleEndianBytes(placed + 40) + [UInt8](repeating: 0, count: 8))
    }

    @Test("WRITE_POINTER at dst_offset 8 skips to it and writes there, leaving the rest of the file")
    func writesAtDestinationOffset() throws {
        let device = FakeFwCfg(files: [guid, address])
        var zones = bootZones()
        let result = try runTableLoader(commands(at: 8), files: [], ram: FakeRAM(size: gibibyte), zones: &zones, device: device)
        let placed = result.allocations[0].region.start.value
        let selector = try #require(device.selector(of: "etc/vmgenid_addr"))
        #expect(device.writes == [FakeFwCfg.Write(selector: selector, offset: 8, bytes: littleEndianBytes(placed + 40))])
        #expect(device.contents(of: "etc/vmgenid_addr") == [UInt8](repeating: 0, count: 8) + littleEndianBytes(placed + 40))
        let last = try #require(device.dmaTransfers.last)
        #expect(last.writes && !last.reads && last.length == 8)
    }

    @Test("WRITE_POINTER of 4 bytes writes the low 4 bytes of the address")
    func writesFourBytes() throws {
        let device = FakeFwCfg(files: [guid, address])
        var zones = bootZones()
        let result = try runTableLoader(commands(size: 4, sourceOffset: 0), files: [], ram: FakeRAM(size: gibibyte),
                                        zones: &zones, device: device)
        let placed = result.allocations[0].region.start.value
        #expect(device.writes.map(\.bytes) == [littleEndianBytes(UInt32(placed))])
    }

    @Test("WRITE_POINTER does not need its destination allocated: it is a fw_cfg file, not guest memory")
    func destinationNeedNotBeAllocated() throws {
        let device = FakeFwCfg(files: [guid, address])
        var zones = bootZones()
        let result = try runTableLoader(commands(), files: [], ram: FakeRAM(size: gibibyte), zones: &zones, device: device)
        #expect(result.allocations.map(\.file.name) == ["etc/vmgenid_guid"])
    }

    @Test("WRITE_POINTER without fw_cfg DMA throws fwCfgWriteNeedsDMA, naming the file")
    func needsDMA() {
        let device = FakeFwCfg(features: .ioOnly, files: [guid, address])
        var zones = bootZones()
        #expect(throws: BootError.fwCfgWriteNeedsDMA(file: "etc/vmgenid_addr")) {
            try runTableLoader(commands(), files: [], ram: FakeRAM(size: gibibyte), zones: &zones, device: device)
        }
        #expect(device.writes.isEmpty)
    }

    @Test("WRITE_POINTER from a source not yet allocated fails")
    func sourceNotAllocated() {
        let command = LoaderCommand.writePointer(into: "etc/vmgenid_addr", at: 0, size: 8,
                                                 pointingTo: "etc/vmgenid_guid", offset: 0)
        #expect(tableLoaderError(command, files: [guid, address])
                == .acpiFileNotAllocated(command: 0, name: "etc/vmgenid_guid"))
    }

    @Test("WRITE_POINTER into a file fw_cfg does not have fails")
    func unknownDestination() {
        let commands = LoaderCommand.allocate("etc/vmgenid_guid", alignment: 4096, zone: 1)
            + LoaderCommand.writePointer(into: "etc/nothere", at: 0, size: 8, pointingTo: "etc/vmgenid_guid", offset: 0)
        #expect(tableLoaderError(commands, files: [guid, address]) == .acpiUnknownFile(command: 1, name: "etc/nothere"))
    }

    @Test("WRITE_POINTER of 3 bytes is refused")
    func pointerSizeThree() {
        #expect(tableLoaderError(commands(size: 3), files: [guid, address]) == .acpiBadPointerSize(command: 1, size: 3))
    }

    @Test("WRITE_POINTER past the end of the destination file fails and writes nothing")
    func pastEndOfDestination() {
        let device = FakeFwCfg(files: [guid, address])
        var zones = bootZones()
        #expect(throws: BootError.self) {
            try runTableLoader(commands(at: 12), files: [], ram: FakeRAM(size: gibibyte), zones: &zones, device: device)
        }
        #expect(device.writes.isEmpty)
        #expect(!device.dmaTransfers.contains { $0.writes })
    }

    @Test("WRITE_POINTER with src_offset past the end of the source fails, naming the source and the offset")
    func sourceOffsetPastEnd() {
        let error = tableLoaderError(commands(sourceOffset: 4097), files: [guid, address])
        guard case .acpiRangeOutsideFile(command: 1, name: "etc/vmgenid_guid", offset: 4097, length: _, size: 4096) = error else {
            Issue.record("got \(String(describing: error))")
            return
        }
    }

    // QEMU's bios_linker_loader_write_pointer asserts src_offset < the
    // source's size, and SeaBIOS refuses src_offset >= size: a pointer must
    // point at a byte of the file.
    @Test("WRITE_POINTER with src_offset at the very end of the source (no byte there) fails")
    func sourceOffsetAtEnd() {
        #expect(tableLoaderError(commands(sourceOffset: 4096), files: [guid, address])
                == .acpiRangeOutsideFile(command: 1, name: "etc/vmgenid_guid", offset: 4096, length: 1, size: 4096))
    }
}
