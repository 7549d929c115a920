// libFuzzer target: the bzImage setup-header parser and what the firmware
// does with it (KernelInputs.swift, bzImageKernel): placement check,
// footprint, the initramfs placed clear of it, the protected-mode part read
// to 0x100000, and boot_params built from the copied setup header.
//
// Input: [flags u8][RAM MiB - 1 u8][kernel file size u32 LE][initramfs size u32 LE][head bytes...]
//   flags bit 0: the -kernel path (head as SETUP_DATA, the file size as
//   KERNEL_DATA's); bit 1: port I/O instead of DMA.
// Otherwise the head is the start of opt/stage0/elf_kernel, declared
// max(file size, head) bytes long.

@_cdecl("LLVMFuzzerTestOneInput")
public func bzImageFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let flags = input.u8()
    let ramSize = (UInt64(input.u8()) + 1) * mebibyte
    let fileSize = Int(input.u32())
    let initramfsSize = UInt64(input.u32())
    let head = input.rest()
    do {
        try runBzImage(head: head, fileSize: fileSize, initramfsSize: initramfsSize, ramSize: ramSize, flags: flags)
    } catch {
        _ = error.what + error.hint
    }
    return 0
}

func runBzImage(head bytes: [UInt8], fileSize: Int, initramfsSize: UInt64, ramSize: UInt64, flags: UInt8) throws(BootError) {
    let device = FuzzFwCfg()
    let kernelOption = flags & 1 != 0
    if kernelOption {
        device.setLegacyItem(.setupData, sizeIn: .setupSize, bytes: bytes)
        device.setLegacyItem(.kernelData, sizeIn: .kernelSize, bytes: [], declaredSize: fileSize)
    } else {
        device.addFile("opt/stage0/elf_kernel", bytes: bytes, declaredSize: max(fileSize, bytes.count))
    }
    let fwCfg = try FwCfg(ports: device, prefersPortIO: flags & 2 != 0)
    let map = Stage0Layout.firmwareMap(E820Map([E820Entry(PhysicalRegion(start: 0, end: ramSize), .ram)]))
    let memory = FuzzRAM(size: ramSize)

    let headFile: FwCfgFile
    let payloadFile: FwCfgFile
    if kernelOption {
        guard let setup = fwCfg.legacyItem(.setupData, sizeIn: .setupSize, name: "SETUP_DATA (-kernel)") else { return }
        guard let kernelData = fwCfg.legacyItem(.kernelData, sizeIn: .kernelSize, name: "KERNEL_DATA (-kernel)") else {
            throw .bzImageTruncated(size: setup.size, setupSize: setup.size)
        }
        headFile = setup
        payloadFile = kernelData
    } else {
        guard let file = fwCfg.directory.file(named: "opt/stage0/elf_kernel") else { fatalError("kernel file missing") }
        headFile = file
        payloadFile = file
    }
    let head = try readHead(headFile, fwCfg)
    guard try KernelFormat.detect(head.readOnly) == .bzImage else {
        _ = try ELFKernel.parseHeader(head.readOnly, fileSize: headFile.size)
        return
    }
    let image = try BzImage.parse(head.readOnly)
    expect(image.headerEnd <= head.bytes.count, "header end past the head")
    expect(image.setupSize % BzImage.sectorSize == 0 && image.setupSize >= 2 * BzImage.sectorSize, "setup size")
    // Known bug 1 (Fuzz/README.md, Fuzz/crashes/bzimage-crash-52b3...; FuzzRegressionTests):
    // footprint traps when pref_address + init_size passes 2^64. Skipped until the fix is in,
    // so the run can look for other bugs; remove with the fix.
    if knownBugsSkipped && max(BzImage.loadAddress.value, image.preferredAddress).addingReportingOverflow(image.initSize).overflow {
        return
    }
    let offset = kernelOption ? 0 : image.setupSize
    guard payloadFile.size > offset else { throw .bzImageTruncated(size: payloadFile.size, setupSize: offset) }
    let payloadSize = payloadFile.size - offset
    try image.checkPlacement(payloadSize: payloadSize, in: map, avoiding: Stage0Layout.reservations)
    let footprint = image.footprint(payloadSize: payloadSize)
    expect(map.isUsable(footprint), "footprint outside RAM")
    expect(footprint.start == BzImage.loadAddress && footprint.size >= payloadSize, "footprint")
    for reservation in Stage0Layout.reservations { expect(!reservation.region.overlaps(footprint), "footprint on firmware") }

    // The initramfs, placed as Boot.swift does.
    var ramdisk: PhysicalRegion? = nil
    if initramfsSize > 0 {
        let occupied = Stage0Layout.reservations.map { $0.region } + [footprint]
        let ceiling = InitramfsPlacement.ceiling(initrdAddressMax: image.initrdAddressMax)
        do {
            let placed = try InitramfsPlacement.place(size: initramfsSize, in: map, avoiding: occupied, below: ceiling)
            expect(map.isUsable(placed) && placed.end <= ceiling && !placed.overlaps(footprint), "initramfs placement")
            ramdisk = placed
        } catch {
            _ = error.what + error.hint
        }
    }

    // The protected-mode part, when small enough to copy on every run.
    if payloadSize <= 4 * mebibyte {
        try fwCfg.read(payloadFile, at: offset, into: memory.bytes(of: PhysicalRegion(start: BzImage.loadAddress, size: payloadSize)))
    }

    let page = ScratchBuffer(count: BootParamsLayout.size)
    let setupHeader = UnsafeRawBufferPointer(rebasing: head.readOnly[0..<image.headerEnd])
    try BootParams(commandLine: Stage0Layout.commandLine.start, ramdisk: ramdisk, memoryMap: map,
                   setupHeader: setupHeader, code32Start: BzImage.loadAddress).write(into: page.bytes)
    expect(page.bytes[BootParamsLayout.typeOfLoader] == BootParamsLayout.loaderTypeUndefined, "type_of_loader")
    expect(page.bytes.loadUnaligned(fromByteOffset: BootParamsLayout.setupData, as: UInt64.self) == 0, "setup_data")

    // The command line limit the header gives, as Boot.swift applies it.
    let commandLine = ScratchBuffer(count: Int(Stage0Layout.commandLine.size))
    _ = try KernelCommandLine.append("tsc_early_khz=2000000", to: commandLine.bytes, length: 0,
                                     kernelLimit: image.commandLineLimit)
}
