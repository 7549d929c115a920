// libFuzzer target: the ELF vmlinux parser and validator, then the loader.
//
// Input: [flags u8][RAM MiB - 1 u8][declared file size u32 LE][file bytes...]
//   flags bit 0: port I/O instead of DMA; bit 1: the -kernel path (the
//   file's first 8 KiB as SETUP_DATA, segments checked, not read);
//   bit 2: every DMA transfer fails.
// The file is served as opt/stage0/elf_kernel by a fake fw_cfg device,
// declared max(size field, bytes) long (zeros past the bytes), as Boot.swift
// reads it: the head, the format, ELFLoading.inspect against a memory map of
// RAM 0..<N MiB with the firmware's regions reserved, then ELFLoading.load
// into fake RAM. BootError is an expected outcome; a trap is a bug.

@_cdecl("LLVMFuzzerTestOneInput")
public func elfFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let flags = input.u8()
    let ramSize = (UInt64(input.u8()) + 1) * mebibyte
    let declared = Int(input.u32() & 0x0FFF_FFFF)
    let file = input.rest()
    do {
        try runELF(file: file, declaredSize: max(declared, file.count), ramSize: ramSize, flags: flags)
    } catch {
        _ = error.what + error.hint   // the message the firmware would print must build too
    }
    return 0
}

func runELF(file bytes: [UInt8], declaredSize: Int, ramSize: UInt64, flags: UInt8) throws(BootError) {
    let device = FuzzFwCfg()
    device.failsDMA = flags & 4 != 0
    let map = Stage0Layout.firmwareMap(E820Map([E820Entry(PhysicalRegion(start: 0, end: ramSize), .ram)]))
    let reserved = Stage0Layout.reservations
    let memory = FuzzRAM(size: ramSize)

    if flags & 2 != 0 {
        // -kernel with an ELF: QEMU loaded it and serves its first 8 KiB as SETUP_DATA.
        device.setLegacyItem(.setupData, sizeIn: .setupSize, bytes: Array(bytes.prefix(8192)))
        let fwCfg = try FwCfg(ports: device, prefersPortIO: flags & 1 != 0)
        guard let setup = fwCfg.legacyItem(.setupData, sizeIn: .setupSize, name: "SETUP_DATA (-kernel)") else { return }
        let head = try readHead(setup, fwCfg)
        guard try KernelFormat.detect(head.readOnly) == .elf else { return }
        let elf = try ELFKernel.parseHeader(head.readOnly, fileSize: setup.size)
        let location = elf.programHeaderTable
        let table = ScratchBuffer(count: location.size)
        try fwCfg.read(setup, at: location.offset, into: table.bytes)
        let checked = try elf.parsingSegments(table.readOnly, fileSize: UInt64.max)
        try checked.checkPlacement(in: map, avoiding: reserved)
        checkSegments(checked, map: map, reserved: reserved)
        return
    }

    device.addFile("opt/stage0/elf_kernel", bytes: bytes, declaredSize: declaredSize)
    let fwCfg = try FwCfg(ports: device, prefersPortIO: flags & 1 != 0)
    guard let file = fwCfg.directory.file(named: "opt/stage0/elf_kernel") else {
        fatalError("the kernel file is missing from the directory")
    }
    let head = try readHead(file, fwCfg)
    switch try KernelFormat.detect(head.readOnly) {
    case .bzImage:
        _ = try BzImage.parse(head.readOnly)
    case .elf:
        let loading = ELFLoading(fwCfg: fwCfg, memory: memory)
        let kernel = try loading.inspect(file, map: map, avoiding: reserved)
        checkSegments(kernel, map: map, reserved: reserved)
        try loading.load(kernel, from: file)
        // What landed in RAM is the file's bytes, then zeros.
        for segment in kernel.segments where !segment.memory.isEmpty {
            let checked = Int(min(segment.fileSize, 4096))
            let loaded = memory.read(segment.memory.start.value, count: checked)
            for index in 0..<checked {
                let offset = Int(segment.fileOffset) + index
                expect(loaded[index] == (offset < bytes.count ? bytes[offset] : 0), "segment \(segment.index) byte \(index)")
            }
            if segment.memory.size > segment.fileSize {
                let last = memory.read(segment.memory.end.value - 1, count: 1)[0]
                expect(last == 0, "segment \(segment.index) tail not zeroed")
            }
        }
        _ = kernel.footprint
    }
}

/// What inspect promises: segments in RAM, clear of the firmware and of each other, the entry in one.
func checkSegments(_ kernel: ELFKernel, map: E820Map, reserved: [MemoryReservation]) {
    expect(!kernel.segments.isEmpty, "no segments")
    for (i, segment) in kernel.segments.enumerated() {
        expect(segment.fileSize <= segment.memory.size, "filesz > memsz")
        expect(map.isUsable(segment.memory), "segment \(segment.index) outside RAM")
        for reservation in reserved { expect(!reservation.region.overlaps(segment.memory), "segment on firmware") }
        for other in kernel.segments[(i + 1)...] { expect(!other.memory.overlaps(segment.memory), "segments overlap") }
    }
    expect(kernel.segments.contains { $0.fileSize > 0 && PhysicalRegion(start: $0.memory.start, size: $0.fileSize)
        .contains(PhysicalAddress(kernel.entry)) }, "entry outside the loaded bytes")
}
