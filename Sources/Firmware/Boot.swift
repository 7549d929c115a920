import Loader
import Support

/// The boot, top to bottom. entry.S has already gone from reset to long
/// mode with a stack; from here: find the inputs in fw_cfg, build the
/// memory map, check everything, then load and jump. Nothing is written
/// to the kernel's memory until every check has passed.
@_cdecl("stage0_main")
func stage0Main(resetTSC: UInt64) -> Never {
    Serial.initialize()
    if kernelWasStarted() { restartMachine() }
    let clock = BootClock(resetTSC: resetTSC)
    do {
        try boot(clock)
    } catch {
        Shutdown.fail(error)
    }
}

func boot(_ clock: BootClock) throws(BootError) -> Never {
    log("stage0: started (\(clock.sinceReset()) since reset, TSC \(frequency(clock)))")
    var steps = StepTimes(clock)

    // 1. fw_cfg: the device, its transport, and every file it offers.
    let fwCfg = try FwCfg(ports: FwCfgPortIO())
    log("stage0: fw_cfg: \(fwCfg.usesDMA ? "DMA" : "port I/O (no DMA)" as StaticString), features \(hex: fwCfg.features.rawValue), \(fwCfg.directory.count) files")
    for index in 0..<fwCfg.directory.count {
        let file = fwCfg.directory.file(at: index)
        log("stage0: fw_cfg file \(file.label) (\(file.size) bytes)")
    }

#if STAGE0_TEST_DOUBLE
    try TestDouble.faultIfAsked(fwCfg)
#endif
    steps.finished("fw_cfg")

    // 2. The memory map: QEMU's RAM, then what the firmware keeps for itself.
    var memoryMap = try readMemoryMap(fwCfg)
    memoryMap.reserve(FirmwareMemory.all)
    memoryMap.reserve(FirmwareMemory.legacyArea)
    guard memoryMap.totalRAM > 0 else { throw .noRAM }
    steps.finished("e820")

    // 3. ACPI: QEMU's tables placed and linked as etc/table-loader says; the MP tables beside them.
    let acpiRSDP = try installACPITables(fwCfg, memoryMap: &memoryMap)
    installMPTable(fwCfg, memoryMap: &memoryMap)
    for entry in memoryMap.entries {
        log("stage0: e820 \(entry.region) \(entry.type.name)")
    }
    steps.finished("acpi")

    // 4. The kernel: found, headers and placement checked, nothing written yet.
    let kernel = try prepareKernel(fwCfg, map: memoryMap)
    steps.finished("kernel")

    // 5. The command line, copied to its page and checked against the kernel's limit.
    var commandLineLength = try readCommandLine(fwCfg, kernelLimit: kernel.commandLineLimit)
    commandLineLength = try tellLinuxTheTSCRate(clock, commandLineLength: commandLineLength,
                                                kernelLimit: kernel.commandLineLimit)
    steps.finished("cmdline")

    // 6. The initramfs: placed high below 1 GiB, clear of the kernel.
    let initramfsFile = findInitramfs(fwCfg)
    var initramfs: PhysicalRegion? = nil
    if let file = initramfsFile, file.size > 0 {
        let occupied = FirmwareMemory.reservations.map { $0.region } + kernel.occupied
        initramfs = try InitramfsPlacement.place(
            size: file.size, in: memoryMap, avoiding: occupied,
            below: InitramfsPlacement.ceiling(initrdAddressMax: kernel.initrdAddressMax))
    }
    steps.finished("placement")

    // 7. Every check has passed: load.
    var start = clock.now
    try kernel.load(fwCfg)
    log("stage0: kernel loaded (\(clock.elapsed(since: start, until: clock.now)))")
    if let file = initramfsFile, let region = initramfs {
        start = clock.now
        try fwCfg.read(file, into: IdentityMappedMemory().bytes(of: region))
        log("stage0: initramfs at \(region), \(size: region.size) from \(file.label) (\(clock.elapsed(since: start, until: clock.now)))")
    } else {
        log("stage0: initramfs: none \(initramfsFile == nil ? "(no opt/stage0/initramfs, no -initrd)" : "(empty file)" as StaticString)")
    }

    steps.finished("load")

    // 8. boot_params, then the 64-bit entry with RSI = boot_params.
    let bootParams = BootParams(commandLine: FirmwareMemory.commandLine.start, ramdisk: initramfs,
                                memoryMap: memoryMap, acpiRSDP: acpiRSDP, setupHeader: kernel.setupHeader,
                                code32Start: kernel.code32Start)
    try bootParams.write(into: IdentityMappedMemory().bytes(of: FirmwareMemory.zeroPage))
    log("stage0: boot_params at \(FirmwareMemory.zeroPage.start), command line \(commandLineLength) bytes at \(FirmwareMemory.commandLine.start)")
    steps.finished("boot_params")
    log(steps.line)
    log("stage0: jumping to kernel entry \(kernel.entry) (\(clock.sinceReset()) since reset)")
    stage0_enter_kernel(kernel.entry.value, FirmwareMemory.zeroPage.start.value)
}

/// One log line on the serial console.
func log(_ line: Message) {
    var line = line
    line.append("\r\n")
    line.withBytes { Serial.write($0) }
}

/// A kernel that cannot reset the machine any other way (no ACPI reset
/// register, no keyboard controller on microvm) jumps to the reset vector
/// in real mode (Linux's reboot=bios fallback), which lands here with RAM
/// intact. The boot_params we left behind tell that apart from a power-on.
func kernelWasStarted() -> Bool {
    let page = IdentityMappedMemory().bytes(of: FirmwareMemory.zeroPage)
    return page.loadUnaligned(fromByteOffset: BootParamsLayout.headerMagic, as: UInt32.self)
        == BootParamsLayout.headerMagicValue
}

/// Turns the kernel's jump to the reset vector into a real reset: QEMU
/// exits under -no-reboot, or boots afresh (the marker is gone) without it.
func restartMachine() -> Never {
    log("stage0: the kernel jumped to the reset vector to restart: resetting the machine")
    IdentityMappedMemory().bytes(of: FirmwareMemory.zeroPage).initializeMemory(as: UInt8.self, repeating: 0)
    triple_fault()
}

func frequency(_ clock: BootClock) -> Message {
    guard let rate = clock.ticksPerSecond else { return "rate unknown: no PIT" }
    return "\(rate / 1_000_000) MHz"
}

/// etc/e820 when QEMU provides it, else the RAM size QEMU keeps in CMOS.
func readMemoryMap(_ fwCfg: FwCfg<FwCfgPortIO>) throws(BootError) -> E820Map {
    guard let file = fwCfg.directory.file(named: InputFiles.memoryMap) else {
        log("stage0: no \(InputFiles.memoryMap) in fw_cfg: using the RAM size in CMOS")
        return E820Map(cmos: CMOS.read)
    }
    guard file.size % UInt64(E820Entry.encodedSize) == 0 else { throw .e820Malformed(size: file.size) }
    // Entries can merge when the map is normalised: read up to twice what boot_params holds.
    let count = file.size / UInt64(E820Entry.encodedSize)
    let limit = BootParamsLayout.e820TableEntries
    guard count <= UInt64(2 * limit) else { throw .e820TooManyEntries(count: Int(count), limit: limit) }
    let bytes = ScratchBuffer(count: Int(file.size))
    try fwCfg.read(file, into: bytes.bytes)
    return try E820Map(etcE820: bytes.readOnly)
}

/// Without KVM, Linux's own TSC calibration fails (see
/// BootClock.linuxCanLearnTSCRate) and the boot hangs; the firmware measured
/// the rate, so it passes it on as tsc_early_khz, unless the command line
/// already has one.
func tellLinuxTheTSCRate(_ clock: BootClock, commandLineLength: UInt64, kernelLimit: UInt64) throws(BootError) -> UInt64 {
    let page = IdentityMappedMemory().bytes(of: FirmwareMemory.commandLine)
    guard !BootClock.linuxCanLearnTSCRate, let rate = clock.ticksPerSecond,
          !KernelCommandLine.hasParameter("tsc_early_khz=", in: UnsafeRawBufferPointer(rebasing: page[0..<Int(commandLineLength)]))
    else { return commandLineLength }
    let parameter: Message = "tsc_early_khz=\(rate / 1000)"
    let length = try KernelCommandLine.append(parameter, to: page, length: Int(commandLineLength),
                                              kernelLimit: kernelLimit)
    log("stage0: command line: appended \(parameter) (no KVM: Linux cannot measure the TSC itself)")
    return UInt64(length)
}

/// Runs etc/table-loader: tables in the top 1 MiB of RAM below 4 GiB (typed
/// ACPI in e820), the RSDP in the BIOS area. No table-loader (acpi=off):
/// no tables, and Linux boots without ACPI.
func installACPITables(_ fwCfg: FwCfg<FwCfgPortIO>, memoryMap: inout E820Map) throws(BootError) -> PhysicalAddress? {
    guard let file = fwCfg.directory.file(named: InputFiles.acpiTableLoader) else {
        log("stage0: ACPI: none (no etc/table-loader; acpi=off)")
        return nil
    }
    // The highest RAM below 4 GiB (entries are sorted).
    var highest: PhysicalRegion? = nil
    for entry in memoryMap.entries where entry.type == .ram && entry.region.end.value <= 4 * gibibyte {
        highest = entry.region
    }
    guard let top = highest else { throw .noRAM }
    let highStart = max(top.start.value, top.end.value - min(FirmwareMemory.acpiHighSize, top.size))
    var zones = ACPITableLoader.Zones(high: PhysicalRegion(start: highStart, end: top.end.value),
                                      fseg: FirmwareMemory.acpiFSEG)
    let commands = ScratchBuffer(count: Int(file.size))
    try fwCfg.read(file, into: commands.bytes)
    let result = try ACPITableLoader.run(commands: commands.readOnly, fwCfg: fwCfg,
                                         memory: IdentityMappedMemory(), zones: &zones)
    memoryMap.reserve(zones.highUsed, as: .acpi)
    for allocation in result.allocations {
        log("stage0: ACPI \(allocation.file.label) at \(allocation.region) (\(allocation.zone.name))")
    }
    if let rsdp = result.rsdp {
        log("stage0: ACPI: \(result.commandsRun) table-loader commands, RSDP at \(rsdp)")
    } else {
        log("stage0: ACPI: \(result.commandsRun) table-loader commands, no RSDP among them: Linux will search for one")
    }
    return result.rsdp
}

/// The MP tables in the last KiB of base memory, reserved in e820 (see
/// MPTable.swift for why). Not fatal: Linux also has ACPI's MADT.
func installMPTable(_ fwCfg: FwCfg<FwCfgPortIO>, memoryMap: inout E820Map) {
    let region = FirmwareMemory.mpTable
    guard memoryMap.isUsable(region) else {
        log("stage0: MP table: none (\(region) is not RAM)")
        return
    }
    let leaf1 = cpuid(1, 0)
    let cpus = Int(fwCfg.readLegacy32(.cpuCount) & 0xFFFF)
    let machine = MPTable.Machine(cpuCount: cpus, cpuSignature: leaf1.eax, cpuFeatures: leaf1.edx,
                                  localAPICVersion: APIC.localAPICVersion, ioAPIC: APIC.ioAPIC,
                                  irq0OnPin2: fwCfg.readLegacy32(.irq0Override) != 0)
    guard MPTable.write(machine, into: IdentityMappedMemory().bytes(of: region), at: region.start) else {
        log("stage0: MP table: none (\(cpus) CPUs do not fit; Linux has ACPI's MADT)")
        return
    }
    memoryMap.reserve(region)
    log("stage0: MP table at \(region.start) (\(cpus) CPUs)")
}

/// Copies the command line (opt/stage0/cmdline, else -append) to its page,
/// NUL-terminated; none means an empty command line. Returns its length.
func readCommandLine(_ fwCfg: FwCfg<FwCfgPortIO>, kernelLimit: UInt64) throws(BootError) -> UInt64 {
    let page = IdentityMappedMemory().bytes(of: FirmwareMemory.commandLine)
    page[0] = 0
    let appended = fwCfg.legacyItem(.commandLineData, sizeIn: .commandLineSize, name: "CMDLINE_DATA (-append)")
    let seedFile = fwCfg.directory.file(named: InputFiles.commandLine)
    if seedFile != nil && appended != nil {
        log("stage0: both opt/stage0/cmdline and -append given: opt/stage0/cmdline wins")
    }
    guard let file = seedFile ?? appended else {
        log("stage0: command line: empty (no opt/stage0/cmdline, no -append)")
        return 0
    }
    let capacity = UInt64(page.count)
    // Checked on the file's size first so the copy cannot overrun the page.
    if file.size >= capacity {
        throw .commandLineTooLong(length: file.size, limit: min(kernelLimit, capacity - 1))
    }
    try fwCfg.read(file, into: UnsafeMutableRawBufferPointer(rebasing: page[0..<Int(file.size)]))
    let length = KernelCommandLine.length(of: UnsafeRawBufferPointer(rebasing: page[0..<Int(file.size)]))
    page[length] = 0
    try KernelCommandLine.check(length: UInt64(length), kernelLimit: kernelLimit, bufferCapacity: capacity)
    log("stage0: command line from \(file.label): \"\(bytes: UnsafeRawBufferPointer(rebasing: page[0..<length]))\"")
    return UInt64(length)
}

/// opt/stage0/initramfs, else -initrd.
func findInitramfs(_ fwCfg: FwCfg<FwCfgPortIO>) -> FwCfgFile? {
    let seedFile = fwCfg.directory.file(named: InputFiles.initramfs)
    let initrd = fwCfg.legacyItem(.initrdData, sizeIn: .initrdSize, name: "INITRD_DATA (-initrd)")
    if seedFile != nil && initrd != nil {
        log("stage0: both opt/stage0/initramfs and -initrd given: opt/stage0/initramfs wins")
    }
    return seedFile ?? initrd
}
