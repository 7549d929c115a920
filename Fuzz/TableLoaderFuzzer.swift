// libFuzzer target: the ACPI table-loader interpreter, run as Boot.swift's
// installACPITables runs it: the HIGH zone in the top 1 MiB of RAM below
// 4 GiB, FSEG at the firmware's address, then the HIGH zone reserved as
// ACPI in the map.
//
// Input: [flags u8][RAM MiB - 1 u8][T u16 LE][R u16 LE][T bytes: etc/acpi/tables]
//        [R bytes: etc/acpi/rsdp][the rest: etc/table-loader]
//   flags bit 0: port I/O instead of DMA (WRITE_POINTER then fails);
//   bit 1: every DMA transfer fails.
// The device also serves what QEMU microvm has besides: a writable 8-byte
// etc/vmgenid_addr (a WRITE_POINTER destination, as on a pc with vmgenid),
// a 1 MiB etc/fdt (zeros), an empty bootorder.

@_cdecl("LLVMFuzzerTestOneInput")
public func tableLoaderFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let flags = input.u8()
    let ramSize = (UInt64(input.u8()) + 1) * mebibyte
    let tablesLength = Int(input.u16())
    let rsdpLength = Int(input.u16())
    let tables = input.take(tablesLength)
    let rsdp = input.take(rsdpLength)
    let commands = input.rest()
    do {
        try runTableLoader(tables: tables, rsdp: rsdp, commands: commands, ramSize: ramSize, flags: flags)
    } catch {
        _ = error.what + error.hint
    }
    return 0
}

func runTableLoader(tables: [UInt8], rsdp: [UInt8], commands: [UInt8], ramSize: UInt64, flags: UInt8) throws(BootError) {
    let device = FuzzFwCfg()
    device.failsDMA = flags & 2 != 0
    device.addFile("bootorder", bytes: [])
    device.addFile("etc/acpi/rsdp", bytes: rsdp)
    device.addFile("etc/acpi/tables", bytes: tables)
    device.addFile("etc/fdt", bytes: [], declaredSize: Int(mebibyte))
    device.addFile("etc/table-loader", bytes: commands)
    device.addFile("etc/vmgenid_addr", bytes: [UInt8](repeating: 0, count: 8), writable: true)
    let fwCfg = try FwCfg(ports: device, prefersPortIO: flags & 1 != 0)
    let memory = FuzzRAM(size: ramSize)
    var map = Stage0Layout.firmwareMap(E820Map([E820Entry(PhysicalRegion(start: 0, end: ramSize), .ram)]))
    guard let file = fwCfg.directory.file(named: "etc/table-loader") else { fatalError("etc/table-loader missing") }

    let below4G = map.usableRegions.filter { $0.end.value <= 4 * gibibyte }
    guard let top = below4G.max(by: { $0.end < $1.end }) else { throw .noRAM }
    let highStart = max(top.start.value, top.end.value - min(Stage0Layout.acpiHighSize, top.size))
    let high = PhysicalRegion(start: highStart, end: top.end.value)
    var zones = ACPITableLoader.Zones(high: high, fseg: Stage0Layout.acpiFSEG)
    let buffer = ScratchBuffer(count: Int(file.size))
    try fwCfg.read(file, into: buffer.bytes)
    let result = try ACPITableLoader.run(commands: buffer.readOnly, fwCfg: fwCfg, memory: memory, zones: &zones)

    expect(result.commandsRun <= commands.count / ACPITableLoader.commandSize, "more commands run than given")
    expect(result.allocations.count <= ACPITableLoader.maximumAllocations, "too many allocations")
    for (index, allocation) in result.allocations.enumerated() {
        let zone = allocation.zone == .high ? high : Stage0Layout.acpiFSEG
        expect(zone.contains(allocation.region), "allocation outside its zone")
        expect(allocation.region.size == allocation.file.size, "allocation size")
        for other in result.allocations[(index + 1)...] {
            expect(!other.region.overlaps(allocation.region), "allocations overlap")
        }
    }
    if let address = result.rsdp {
        expect(result.allocations.contains { $0.region.start == address && $0.region.size >= 8 }, "RSDP not at an allocation")
        expect(memory.read(address.value, count: 8) == Array("RSD PTR ".utf8), "RSDP signature")
    }
    expect(high.contains(zones.highUsed) || zones.highUsed.isEmpty, "HIGH zone use outside the zone")
    map.reserve(zones.highUsed, as: .acpi)
    checkMap(map)
    for allocation in result.allocations where allocation.zone == .high {
        expect(!map.usableRegions.contains { $0.overlaps(allocation.region) }, "an ACPI table left as RAM")
    }
}
