// Loading an ELF vmlinux from fw_cfg into guest memory: inspect (headers and
// placement, nothing written), then load (segments by DMA straight to
// p_paddr, tails zeroed).

import Testing
@testable import Loader

/// A small ELF64 x86_64 executable with distinctive segment contents.
struct SyntheticELF {
    struct Segment {
        var type: UInt32 = 1
        var offset: Int
        var paddr: UInt64
        var fileSize: Int
        var memorySize: Int
        var seed: UInt8

        var contents: [UInt8] { pattern(count: fileSize, seed: seed) }
    }

    var entry: UInt64
    var segments: [Segment]

    /// Program headers in this order: B, a NOTE, A, C; in the file A, B, C.
    /// So load order (file offsets) differs from header order and from address order.
    static let standard = SyntheticELF(entry: 0x20_0100, segments: [
        Segment(offset: 0x3000, paddr: 0x40_0000, fileSize: 0x0800, memorySize: 0x2000, seed: 0x22),   // B
        Segment(type: 4, offset: 0x2000, paddr: 0x10_0000, fileSize: 0x40, memorySize: 0x40, seed: 0x44),
        Segment(offset: 0x1000, paddr: 0x20_0000, fileSize: 0x1800, memorySize: 0x3000, seed: 0x11),   // A
        Segment(offset: 0x4000, paddr: 0x30_0000, fileSize: 0x1000, memorySize: 0x1000, seed: 0x33),   // C
    ])

    var loads: [Segment] { segments.filter { $0.type == 1 } }

    var bytes: [UInt8] {
        var file = [UInt8](repeating: 0, count: 64)
        file.replaceSubrange(0..<8, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0])
        file.store(UInt16(2), at: 16)                 // e_type ET_EXEC
        file.store(UInt16(62), at: 18)                // e_machine EM_X86_64
        file.store(UInt32(1), at: 20)                 // e_version
        file.store(entry, at: 24)                     // e_entry
        file.store(UInt64(64), at: 32)                // e_phoff
        file.store(UInt16(64), at: 52)                // e_ehsize
        file.store(UInt16(56), at: 54)                // e_phentsize
        file.store(UInt16(segments.count), at: 56)    // e_phnum
        file.store(UInt16(64), at: 58)                // e_shentsize
        for (index, segment) in segments.enumerated() {
            let base = 64 + 56 * index
            file.store(segment.type, at: base)
            file.store(UInt32(7), at: base + 4)
            file.store(UInt64(segment.offset), at: base + 8)
            file.store(0xFFFF_FFFF_8000_0000 &+ segment.paddr, at: base + 16)
            file.store(segment.paddr, at: base + 24)
            file.store(UInt64(segment.fileSize), at: base + 32)
            file.store(UInt64(segment.memorySize), at: base + 40)
            file.store(UInt64(0x1000), at: base + 48)
        }
        for segment in segments {
            let end = segment.offset + segment.fileSize
            if file.count < end { file += [UInt8](repeating: 0, count: end - file.count) }
            file.replaceSubrange(segment.offset..<end, with: segment.contents)
        }
        return file
    }
}

struct LoaderRig {
    let device: FakeFwCfg
    let fwCfg: FwCfg<FakeFwCfg>
    let ram: FakeRAM
    let file: FwCfgFile
    var loading: ELFLoading<FakeFwCfg, FakeRAM> { ELFLoading(fwCfg: fwCfg, memory: ram) }

    init(kernel: [UInt8], declaredSize: Int? = nil, features: FakeFwCfg.Features = .ioAndDMA) throws {
        device = FakeFwCfg(features: features, files: [
            FakeFile("etc/e820", bytes: [UInt8](repeating: 0, count: 20)),
            FakeFile("opt/stage0/elf_kernel", bytes: kernel, declaredSize: declaredSize),
        ])
        fwCfg = try makeFwCfg(device)
        ram = FakeRAM()
        file = try #require(fwCfg.directory.file(named: "opt/stage0/elf_kernel"))
        device.clearEvents()
    }

    /// DMA transfers whose destination is inside FakeRAM, as guest-physical addresses.
    var dmaWritesToRAM: [UInt64] {
        device.dmaTransfers.filter { $0.reads }.compactMap { ram.guestAddress(ofHost: $0.address) }
    }
}

@Suite("ELF loading")
struct ELFLoadingTests {
    let elf = SyntheticELF.standard
    let map = microvmMap(ram: 128 * mebibyte)

    @Test("inspect reads only the ELF header and the program header table of a 66 MB kernel, and writes no RAM")
    func inspectReadsOnlyHeaders() throws {
        let rig = try LoaderRig(kernel: DebianKernel.headers, declaredSize: DebianKernel.fileSize)
        let kernel = try rig.loading.inspect(rig.file, map: map, avoiding: [])
        #expect(kernel.segments == DebianKernel.segments)
        #expect(rig.device.dmaTransfers.map { [$0.control, $0.length] } == [
            [0x0021_000A, 64],          // select + read the ELF header
            [0x0000_0002, 5 * 56],      // read on: the program headers follow at e_phoff 64
        ])
        #expect(rig.dmaWritesToRAM.isEmpty)
        #expect(rig.ram.requestedRegions.isEmpty)
    }

    @Test("inspect of an empty kernel file reports it too small")
    func inspectEmptyFile() throws {
        let rig = try LoaderRig(kernel: [])
        #expect(throws: BootError.kernelTooSmall(size: 0, needed: 64)) {
            try rig.loading.inspect(rig.file, map: map, avoiding: [])
        }
        #expect(rig.ram.requestedRegions.isEmpty)
    }

    @Test("inspect of a file shorter than an ELF header reads what there is and reports it too small")
    func inspectShortFile() throws {
        let rig = try LoaderRig(kernel: Array(elf.bytes.prefix(40)))
        #expect(throws: BootError.kernelTooSmall(size: 40, needed: 64)) {
            try rig.loading.inspect(rig.file, map: map, avoiding: [])
        }
        #expect(rig.device.dmaTransfers.map(\.length) == [40])
    }

    @Test("inspect finds the PT_LOAD segments of the synthetic kernel, by p_paddr")
    func inspectSynthetic() throws {
        let rig = try LoaderRig(kernel: elf.bytes)
        let kernel = try rig.loading.inspect(rig.file, map: map, avoiding: [])
        #expect(kernel.entry == 0x20_0100)
        #expect(kernel.segments.map(\.index) == [0, 2, 3])
        #expect(kernel.segments.map(\.memory.start.value) == [0x40_0000, 0x20_0000, 0x30_0000])
        #expect(kernel.segments.map(\.memory.size) == [0x2000, 0x3000, 0x1000])
    }

    @Test("segments land at p_paddr with the file's bytes, and their tails past p_filesz are zeroed")
    func segmentsLandAtPhysicalAddress() throws {
        let rig = try LoaderRig(kernel: elf.bytes)
        // Stale contents everywhere the kernel goes, and one page either side.
        for segment in elf.loads {
            rig.ram.fill(segment.paddr - 0x1000, count: segment.memorySize + 0x2000, with: 0xAA)
        }
        let kernel = try rig.loading.inspect(rig.file, map: map, avoiding: [])
        try rig.loading.load(kernel, from: rig.file)

        for segment in elf.loads {
            #expect(rig.ram.read(segment.paddr, count: segment.fileSize) == segment.contents)
            #expect(rig.ram.isZero(segment.paddr + UInt64(segment.fileSize), count: segment.memorySize - segment.fileSize))
            // Nothing outside [p_paddr, p_paddr + p_memsz).
            #expect(rig.ram.read(segment.paddr - 0x1000, count: 0x1000) == [UInt8](repeating: 0xAA, count: 0x1000))
            #expect(rig.ram.read(segment.paddr + UInt64(segment.memorySize), count: 0x1000)
                    == [UInt8](repeating: 0xAA, count: 0x1000))
        }
        // The PT_NOTE is not loaded.
        #expect(rig.ram.isZero(0x10_0000, count: 0x40))
    }

    @Test("each segment takes exactly one skip over the gap and one read, in file order, DMA'd straight to p_paddr")
    func oneSkipAndOneReadPerSegment() throws {
        let rig = try LoaderRig(kernel: elf.bytes)
        let kernel = try rig.loading.inspect(rig.file, map: map, avoiding: [])
        rig.device.clearEvents()
        try rig.loading.load(kernel, from: rig.file)

        let ram = rig.ram
        // inspect left the device at 288 (the end of the program headers), so
        // each skip covers only the gap to the next segment, with no reselect.
        #expect(rig.device.dmaTransfers.map { [UInt64($0.control), UInt64($0.length), $0.address] } == [
            [0x04, 0x1000 - 288, 0], [0x02, 0x1800, ram.hostAddress(of: 0x20_0000)],   // A: file 0x1000..0x2800
            [0x04, 0x0800, 0], [0x02, 0x0800, ram.hostAddress(of: 0x40_0000)],         // B: file 0x3000..0x3800
            [0x04, 0x0800, 0], [0x02, 0x1000, ram.hostAddress(of: 0x30_0000)],         // C: file 0x4000..0x5000
        ])
        #expect(rig.device.selectorWrites.isEmpty)
        #expect(rig.device.portReads.isEmpty)
        #expect(rig.dmaWritesToRAM == [0x20_0000, 0x40_0000, 0x30_0000])
    }

    @Test("without DMA the same segments arrive by port I/O")
    func loadByPortIO() throws {
        let rig = try LoaderRig(kernel: elf.bytes, features: .ioOnly)
        for segment in elf.loads { rig.ram.fill(segment.paddr, count: segment.memorySize, with: 0xAA) }
        let kernel = try rig.loading.inspect(rig.file, map: map, avoiding: [])
        try rig.loading.load(kernel, from: rig.file)
        for segment in elf.loads {
            #expect(rig.ram.read(segment.paddr, count: segment.fileSize) == segment.contents)
            #expect(rig.ram.isZero(segment.paddr + UInt64(segment.fileSize), count: segment.memorySize - segment.fileSize))
        }
        #expect(rig.device.dmaTransfers.isEmpty)
    }

    @Test("a kernel failing placement (a segment beyond RAM) writes nothing to RAM")
    func failedPlacementWritesNothing() throws {
        let rig = try LoaderRig(kernel: elf.bytes)
        // 4 MiB: segment B at 0x400000 is past the end.
        let small = microvmMap(ram: 4 * mebibyte)
        #expect(throws: BootError.kernelSegmentOutsideRAM(index: 0, region: PhysicalRegion(start: 0x40_0000, end: 0x40_2000))) {
            try rig.loading.inspect(rig.file, map: small, avoiding: [])
        }
        #expect(rig.ram.requestedRegions.isEmpty)
        #expect(rig.dmaWritesToRAM.isEmpty)
        for segment in elf.loads { #expect(rig.ram.isZero(segment.paddr, count: segment.memorySize)) }
    }

    @Test("a kernel failing placement (over a firmware reservation) writes nothing to RAM")
    func reservationClashWritesNothing() throws {
        let rig = try LoaderRig(kernel: elf.bytes)
        let stack = PhysicalRegion(start: 0x30_0800, end: 0x30_1000)
        #expect(throws: BootError.kernelSegmentOverlapsFirmware(index: 3, region: PhysicalRegion(start: 0x30_0000, end: 0x30_1000),
                                                                use: .stack, used: stack)) {
            try rig.loading.inspect(rig.file, map: map, avoiding: [MemoryReservation(.stack, stack)])
        }
        #expect(rig.ram.requestedRegions.isEmpty)
        #expect(rig.dmaWritesToRAM.isEmpty)
    }

    @Test("a DMA error while loading a segment throws fwCfgDMAFailed")
    func dmaErrorDuringLoad() throws {
        let rig = try LoaderRig(kernel: elf.bytes)
        let kernel = try rig.loading.inspect(rig.file, map: map, avoiding: [])
        rig.device.failsDMA = true
        // The first transfer, the skip from 288 to segment A at 0x1000, fails.
        #expect(throws: BootError.fwCfgDMAFailed(selector: 0x21, offset: 288, length: 0x1000 - 288)) {
            try rig.loading.load(kernel, from: rig.file)
        }
    }

    @Test("segments that share file bytes both get them: the driver goes back in the file when it must")
    func sharedFileBytes() throws {
        var shared = elf
        // D reads file bytes 0x2000..0x2400, inside A's 0x1000..0x2800.
        shared.segments.append(SyntheticELF.Segment(offset: 0x2000, paddr: 0x60_0000, fileSize: 0x400,
                                                    memorySize: 0x400, seed: 0x55))
        var file = shared.bytes
        file.replaceSubrange(0x1000..<0x2800, with: pattern(count: 0x1800, seed: 0x11))   // A's bytes win
        let rig = try LoaderRig(kernel: file)
        let kernel = try rig.loading.inspect(rig.file, map: map, avoiding: [])
        try rig.loading.load(kernel, from: rig.file)
        #expect(rig.ram.read(0x20_0000, count: 0x1800) == Array(file[0x1000..<0x2800]))
        #expect(rig.ram.read(0x60_0000, count: 0x400) == Array(file[0x2000..<0x2400]))
        #expect(rig.ram.read(0x40_0000, count: 0x800) == Array(file[0x3000..<0x3800]))
        #expect(rig.ram.read(0x30_0000, count: 0x1000) == Array(file[0x4000..<0x5000]))
    }

    @Test("a segment with no file bytes (p_filesz 0) is only zeroed")
    func bssOnlySegment() throws {
        var bss = elf
        bss.segments.append(SyntheticELF.Segment(offset: 0x5000, paddr: 0x50_0000, fileSize: 0, memorySize: 0x3000, seed: 0))
        let rig = try LoaderRig(kernel: bss.bytes)
        rig.ram.fill(0x50_0000, count: 0x3000, with: 0xAA)
        let kernel = try rig.loading.inspect(rig.file, map: map, avoiding: [])
        try rig.loading.load(kernel, from: rig.file)
        #expect(rig.ram.isZero(0x50_0000, count: 0x3000))
    }
}
