// libFuzzer target: the e820 builder. The input is etc/e820 as QEMU serves
// it, read the way Boot.swift's readMemoryMap does (size checks, then
// E820Map(etcE820:)); then the firmware's reservations, the ACPI HIGH zone
// reserved as ACPI (installACPITables), and the map encoded into
// boot_params. When the size is no multiple of 20 the bytes also go through
// the CMOS fallback as register contents.
//
// Checked on every map: entries sorted, non-empty, disjoint, neighbours of
// one type merged; firmware regions not RAM; the boot_params table decodes
// back to the same map.

@_cdecl("LLVMFuzzerTestOneInput")
public func e820FuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        try runE820(bytes)
    } catch {
        _ = error.what + error.hint
    }
    if size % E820Entry.encodedSize != 0 {
        let cmos = E820Map(cmos: { register in Int(register) < size ? bytes[Int(register)] : 0 })
        checkMap(cmos)
        do { try buildBootMap(cmos) } catch { _ = error.what + error.hint }
    }
    return 0
}

func runE820(_ bytes: [UInt8]) throws(BootError) {
    let device = FuzzFwCfg()
    device.addFile("etc/e820", bytes: bytes)
    let fwCfg = try FwCfg(ports: device)
    guard let file = fwCfg.directory.file(named: "etc/e820") else { fatalError("etc/e820 missing") }
    guard file.size % UInt64(E820Entry.encodedSize) == 0, file.size <= 4096 else {
        throw .e820Malformed(size: file.size)
    }
    let buffer = ScratchBuffer(count: Int(file.size))
    try fwCfg.read(file, into: buffer.bytes)
    let map = try E820Map(etcE820: buffer.readOnly)
    checkMap(map)
    try buildBootMap(map)
}

/// Boot.swift, steps 2 and 3 (as far as the map goes), then boot_params.
func buildBootMap(_ parsed: E820Map) throws(BootError) {
    var map = Stage0Layout.firmwareMap(parsed)
    checkMap(map)
    expect(!map.usableRegions.contains { $0.overlaps(Stage0Layout.all) || $0.overlaps(Stage0Layout.legacyArea) },
           "firmware memory left as RAM")
    guard map.totalRAM > 0 else { throw .noRAM }

    let below4G = map.usableRegions.filter { $0.end.value <= 4 * gibibyte }
    if let top = below4G.max(by: { $0.end < $1.end }) {
        let highStart = max(top.start.value, top.end.value - min(Stage0Layout.acpiHighSize, top.size))
        let high = PhysicalRegion(start: highStart, end: top.end.value)
        expect(map.isUsable(high), "ACPI HIGH zone not RAM")
        let zones = ACPITableLoader.Zones(high: high, fseg: Stage0Layout.acpiFSEG)
        map.reserve(zones.highUsed, as: .acpi)
        checkMap(map)
    }

    let page = ScratchBuffer(count: BootParamsLayout.size)
    try BootParams(commandLine: Stage0Layout.commandLine.start, ramdisk: nil, memoryMap: map).write(into: page.bytes)
    let count = Int(page.bytes[BootParamsLayout.e820EntryCount])
    expect(count == map.entries.count, "e820 entry count")
    let table = UnsafeRawBufferPointer(rebasing: page.readOnly[BootParamsLayout.e820Table..<(BootParamsLayout.e820Table + count * E820Entry.encodedSize)])
    let decoded = try E820Map(etcE820: table)
    expect(decoded == map, "boot_params e820 table does not decode to the map")
}

