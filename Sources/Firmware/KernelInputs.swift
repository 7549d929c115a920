import Loader

/// Finding the kernel, its initramfs and its command line among the ways
/// QEMU can pass them: the seed's opt/stage0/* files, which win, or the
/// standard -kernel / -initrd / -append items.
enum InputFiles {
    static let kernel: StaticString = "opt/stage0/elf_kernel"
    static let initramfs: StaticString = "opt/stage0/initramfs"
    static let commandLine: StaticString = "opt/stage0/cmdline"
#if STAGE0_TEST_DOUBLE
    /// See TestDouble.swift: QEMU always provides etc/e820, so the boot
    /// tests' build reads the map from a file they supply, or from none.
    static let memoryMap: StaticString = "opt/stage0-test/e820"
#else
    static let memoryMap: StaticString = "etc/e820"
#endif
    static let acpiTableLoader: StaticString = "etc/table-loader"
}

/// A kernel whose headers and placement have been checked, not yet loaded.
struct PreparedKernel {
    enum Payload {
        /// PT_LOAD segments read from an fw_cfg file.
        case elfSegments(ELFKernel, FwCfgFile)
        /// A bzImage's protected-mode part: `size` bytes at `offset` of `file`.
        case bzImage(file: FwCfgFile, offset: UInt64, size: UInt64)
        /// -kernel with an ELF that QEMU loaded into RAM itself (PVH note).
        case alreadyInRAM
    }

    let payload: Payload
    let entry: PhysicalAddress
    /// Memory the kernel will use, for placing the initramfs clear of it.
    let occupied: [PhysicalRegion]
    let commandLineLimit: UInt64
    let initrdAddressMax: UInt64
    /// A bzImage's setup header, copied into boot_params; nil for an ELF.
    let setupHeader: UnsafeRawBufferPointer?
    let code32Start: PhysicalAddress?

    func load(_ fwCfg: FwCfg<FwCfgPortIO>) throws(BootError) {
        switch payload {
        case .elfSegments(let elf, let file):
            try ELFLoading(fwCfg: fwCfg, memory: IdentityMappedMemory()).load(elf, from: file)
        case .bzImage(let file, let offset, let size):
            let region = PhysicalRegion(start: BzImage.loadAddress, size: size)
            try fwCfg.read(file, at: offset, into: IdentityMappedMemory().bytes(of: region))
        case .alreadyInRAM:
            break
        }
    }
}

/// Picks and checks the kernel: opt/stage0/elf_kernel (an ELF or a bzImage,
/// told by content), else -kernel (a bzImage in SETUP_DATA + KERNEL_DATA, or
/// an ELF QEMU has loaded, whose headers are in SETUP_DATA).
func prepareKernel(_ fwCfg: FwCfg<FwCfgPortIO>, map: E820Map) throws(BootError) -> PreparedKernel {
    let reserved = FirmwareMemory.reservations
    let setup = fwCfg.legacyItem(.setupData, sizeIn: .setupSize, name: "SETUP_DATA (-kernel)")
    let kernelData = fwCfg.legacyItem(.kernelData, sizeIn: .kernelSize, name: "KERNEL_DATA (-kernel)")

    if let file = fwCfg.directory.file(named: InputFiles.kernel) {
        if setup != nil { log("stage0: both opt/stage0/elf_kernel and -kernel given: opt/stage0/elf_kernel wins") }
        let head = try readHead(file, fwCfg)
        switch try KernelFormat.detect(head) {
        case .elf:
            log("stage0: kernel: ELF vmlinux from opt/stage0/elf_kernel")
            let elf = try ELFLoading(fwCfg: fwCfg, memory: IdentityMappedMemory())
                .inspect(file, map: map, avoiding: reserved)
            return elfKernel(elf, payload: .elfSegments(elf, file))
        case .bzImage:
            log("stage0: kernel: bzImage from opt/stage0/elf_kernel (found \"HdrS\" at 0x202)")
            return try bzImageKernel(head: head, file: file, payloadOffset: nil, map: map)
        }
    }
    guard let setup else { throw .kernelFileMissing(name: "opt/stage0/elf_kernel") }
    let head = try readHead(setup, fwCfg)
    switch try KernelFormat.detect(head) {
    case .bzImage:
        guard let kernelData else { throw .bzImageTruncated(size: setup.size, setupSize: setup.size) }
        log("stage0: kernel: bzImage from -kernel (SETUP_DATA and KERNEL_DATA)")
        return try bzImageKernel(head: head, file: kernelData, payloadOffset: 0, map: map)
    case .elf:
        // QEMU put the first 8 KiB of the file in SETUP_DATA; the segments
        // are in RAM already, so they are checked but not read.
        log("stage0: kernel: ELF from -kernel, loaded into RAM by QEMU")
        let elf = try ELFKernel.parseHeader(head, fileSize: setup.size)
        let tableLocation = elf.programHeaderTable
        let table = ScratchBuffer(count: tableLocation.size)
        try fwCfg.read(setup, at: tableLocation.offset, into: table.bytes)
        let checked = try elf.parsingSegments(table.readOnly, fileSize: UInt64.max)
        try checked.checkPlacement(in: map, avoiding: reserved)
        return elfKernel(checked, payload: .alreadyInRAM)
    }
}

/// The first bytes of a kernel file: enough for the ELF header and the bzImage setup header.
private func readHead(_ file: FwCfgFile, _ fwCfg: FwCfg<FwCfgPortIO>) throws(BootError) -> UnsafeRawBufferPointer {
    guard file.size > 0 else { throw .kernelFileEmpty(name: file.label) }
    let count = Int(min(UInt64(BzImage.headerBytes), file.size))
    // Kept for the rest of the boot: boot_params copies the setup header from it.
    let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
    let head = UnsafeMutableRawBufferPointer(rebasing: bytes[0..<count])
    try fwCfg.read(file, into: head)
    return UnsafeRawBufferPointer(head)
}

private func elfKernel(_ elf: ELFKernel, payload: PreparedKernel.Payload) -> PreparedKernel {
    for segment in elf.segments {
        log("stage0: kernel segment \(segment.index): \(segment.memory), \(size: segment.fileSize) from file offset \(hex: segment.fileOffset)")
    }
    log("stage0: kernel entry \(hex: elf.entry) (64-bit)")
    return PreparedKernel(payload: payload, entry: PhysicalAddress(elf.entry), occupied: elf.segments.map { $0.memory },
                          commandLineLimit: BootParamsLayout.defaultCommandLineLimit,
                          initrdAddressMax: BootParamsLayout.defaultInitrdAddressMax,
                          setupHeader: nil, code32Start: nil)
}

/// `payloadOffset` nil: the protected-mode part follows the setup part in the same file.
private func bzImageKernel(head: UnsafeRawBufferPointer, file: FwCfgFile, payloadOffset: UInt64?,
                           map: E820Map) throws(BootError) -> PreparedKernel {
    let image = try BzImage.parse(head)
    let offset = payloadOffset ?? image.setupSize
    guard file.size > offset else { throw .bzImageTruncated(size: file.size, setupSize: offset) }
    let size = file.size - offset
    try image.checkPlacement(payloadSize: size, in: map, avoiding: FirmwareMemory.reservations)
    let footprint = image.footprint(payloadSize: size)
    log("stage0: bzImage: boot protocol \(hex: image.protocolVersion), \(size: size) at \(BzImage.loadAddress), init_size \(size: image.initSize), entry \(image.entry) (64-bit)")
    return PreparedKernel(payload: .bzImage(file: file, offset: offset, size: size), entry: image.entry,
                          occupied: [footprint], commandLineLimit: image.commandLineLimit,
                          initrdAddressMax: image.initrdAddressMax,
                          setupHeader: UnsafeRawBufferPointer(rebasing: head[0..<image.headerEnd]),
                          code32Start: BzImage.loadAddress)
}
