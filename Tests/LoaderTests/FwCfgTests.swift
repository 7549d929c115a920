// QEMU docs/specs/fw_cfg.rst: probing, the file directory, and reads by DMA
// and by port I/O.

#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Loader

/// Distinctive bytes: never a run of one value, different for each seed.
func pattern(count: Int, seed: UInt8) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8 &+ Int(seed)) }
}

func hostAddress(_ buffer: UnsafeMutableRawBufferPointer) -> UInt64 {
    UInt64(UInt(bitPattern: buffer.baseAddress!))
}

@Suite("fw_cfg probing")
struct FwCfgProbeTests {
    @Test("probe reads the signature \"QEMU\" at 0x0000 and the features at 0x0001")
    func probeReadsSignatureAndFeatures() throws {
        let device = FakeFwCfg(features: .ioAndDMA)
        let fwCfg = try makeFwCfg(device)
        #expect(fwCfg.features == FwCfgFeatures(3))
        #expect(fwCfg.features.hasPortIO && fwCfg.features.hasDMA)
        #expect(fwCfg.usesDMA)
        #expect(Array(device.selectorWrites.prefix(2)) == [0x0000, 0x0001])
    }

    @Test("a device with traditional I/O only is driven by port I/O")
    func ioOnlyDeviceUsesPortIO() throws {
        let fwCfg = try makeFwCfg(FakeFwCfg(features: .ioOnly))
        #expect(fwCfg.features == FwCfgFeatures(1))
        #expect(!fwCfg.usesDMA)
    }

    @Test("prefersPortIO turns DMA off on a device that has it")
    func prefersPortIOTurnsDMAOff() throws {
        let fwCfg = try makeFwCfg(FakeFwCfg(features: .ioAndDMA), prefersPortIO: true)
        #expect(fwCfg.features.hasDMA)
        #expect(!fwCfg.usesDMA)
    }

    @Test("a device with the wrong signature throws fwCfgAbsent with the value read, and nothing more is read")
    func wrongSignatureThrowsAbsent() {
        // An empty I/O port reads as all ones.
        let device = FakeFwCfg(signature: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: BootError.fwCfgAbsent(signature: 0xFFFF_FFFF)) { try makeFwCfg(device) }
        #expect(device.selectorWrites == [0x0000])
    }

    @Test("a signature other than \"QEMU\" is reported as its little-endian value")
    func otherSignatureIsReported() {
        let device = FakeFwCfg(signature: Array("QEMV".utf8))
        #expect(throws: BootError.fwCfgAbsent(signature: 0x564D_4551)) { try makeFwCfg(device) }
    }

    @Test("a device offering neither I/O nor DMA throws fwCfgNoTransport with its feature bits")
    func noTransportThrows() {
        #expect(throws: BootError.fwCfgNoTransport(features: 0)) { try makeFwCfg(FakeFwCfg(features: .none)) }
        let device = FakeFwCfg()
        device.setFeatures(0x4)
        #expect(throws: BootError.fwCfgNoTransport(features: 4)) { try makeFwCfg(device) }
    }

    @Test("a legacy item reads as a little-endian value, zero past its end")
    func legacyItemReadsLittleEndian() throws {
        let device = FakeFwCfg()
        device.setItem(FwCfgSelector.cpuCount.rawValue, bytes: [0x02, 0x00])   // FW_CFG_NB_CPUS is a u16
        device.setItem(FwCfgSelector.ramSize.rawValue, bytes: littleEndianBytes(UInt64(0x2000_0000)))
        let fwCfg = try makeFwCfg(device)
        #expect(fwCfg.readLegacy32(.cpuCount) == 2)
        #expect(fwCfg.readLegacy32(.ramSize) == 0x2000_0000)
    }
}

@Suite("fw_cfg file directory")
struct FwCfgDirectoryTests {
    @Test("the directory gives every file's name, selector and size")
    func directoryIsParsed() throws {
        let device = FakeFwCfg(files: [
            FakeFile("etc/e820", bytes: [UInt8](repeating: 0, count: 20)),
            FakeFile("opt/stage0/elf_kernel", bytes: [1, 2, 3], declaredSize: 65_906_612),
            FakeFile("opt/stage0/cmdline", bytes: Array("console=ttyS0\n".utf8)),
        ])
        let directory = try makeFwCfg(device).directory
        #expect(directory.count == 3)
        #expect(directory.file(at: 0) == FwCfgFile(name: "etc/e820", selector: FwCfgSelector(0x20), size: 20))
        #expect(directory.file(at: 1) == FwCfgFile(name: "opt/stage0/elf_kernel", selector: FwCfgSelector(0x21),
                                                   size: 65_906_612))
        #expect(directory.file(at: 2) == FwCfgFile(name: "opt/stage0/cmdline", selector: FwCfgSelector(0x22), size: 14))
    }

    @Test("a name of the full 55 bytes is read up to the end of its field")
    func longestNameIsParsed() throws {
        let name = String(repeating: "n", count: 55)
        let directory = try makeFwCfg(FakeFwCfg(files: [FakeFile(name, bytes: [0])])).directory
        #expect(directory.file(at: 0).name == name)
    }

    @Test("the directory is read once: one selection of 0x19, however many lookups and reads follow")
    func directoryIsReadOnce() throws {
        let device = FakeFwCfg(files: [
            FakeFile("etc/e820", bytes: [UInt8](repeating: 0, count: 20)),
            FakeFile("opt/stage0/cmdline", bytes: Array("quiet".utf8)),
        ])
        let fwCfg = try makeFwCfg(device)
        for _ in 0..<3 {
            let file = try #require(fwCfg.directory.file(named: "opt/stage0/cmdline"))
            var bytes = [UInt8](repeating: 0, count: 5)
            try bytes.withUnsafeMutableBytes { try fwCfg.read(file, into: $0) }
            _ = fwCfg.directory.file(named: "etc/e820")
            _ = fwCfg.directory.file(named: "opt/stage0/initramfs")
        }
        #expect(device.selectorWrites.filter { $0 == 0x0019 }.count == 1)
        // The count, then all entries at once.
        let directoryReads = device.events.drop { $0 != .select(0x19) }.dropFirst().prefix(2)
        #expect(Array(directoryReads) == [.portRead(count: 4), .portRead(count: 128)])
    }

    @Test("lookup by name finds the exact name only, not a prefix of it nor a longer name")
    func lookupIsExact() throws {
        let device = FakeFwCfg(files: [
            FakeFile("opt/stage0/elf_kernel.old", bytes: [1]),
            FakeFile("opt/stage0/elf", bytes: [2]),
            FakeFile("etc/e820", bytes: [3]),
        ])
        var directory = try makeFwCfg(device).directory
        #expect(directory.file(named: "opt/stage0/elf_kernel") == nil)
        #expect(directory.file(named: "etc/e82") == nil)
        #expect(directory.file(named: "etc/e8200") == nil)
        #expect(directory.file(named: "etc/e820")?.selector == FwCfgSelector(0x22))

        device.addFile(FakeFile("opt/stage0/elf_kernel", bytes: [4, 5]))
        directory = try makeFwCfg(device).directory
        #expect(directory.file(named: "opt/stage0/elf_kernel")
                == FwCfgFile(name: "opt/stage0/elf_kernel", selector: FwCfgSelector(0x23), size: 2))
    }

    @Test("a name too long for the 56-byte field with its NUL is never found")
    func overlongNameIsNotFound() throws {
        let directory = try makeFwCfg(FakeFwCfg(files: [FakeFile(String(repeating: "x", count: 55), bytes: [1])])).directory
        #expect(directory.file(named: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") == nil)  // 56
        #expect(directory.file(named: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx") != nil)   // 55
    }

    @Test("an empty directory finds nothing")
    func emptyDirectoryFindsNothing() throws {
        let directory = try makeFwCfg(FakeFwCfg()).directory
        #expect(directory.count == 0)
        #expect(directory.file(named: "etc/e820") == nil)
    }

    @Test("a directory of 1024 files is accepted")
    func directoryAtLimitIsAccepted() throws {
        let device = FakeFwCfg(files: (0..<1024).map { FakeFile("f\($0)", bytes: []) })
        let directory = try makeFwCfg(device).directory
        #expect(directory.count == 1024)
        #expect(directory.file(named: "f1023")?.selector == FwCfgSelector(0x20 + 1023))
    }

    @Test("a directory of more than 1024 files is rejected before its entries are read")
    func directoryAboveLimitIsRejected() {
        let device = FakeFwCfg(files: (0..<1025).map { FakeFile("f\($0)", bytes: []) })
        #expect(throws: BootError.fwCfgDirectoryTooLarge(count: 1025, limit: 1024)) { try makeFwCfg(device) }
        #expect(device.events.last == .portRead(count: 4))
    }
}

@Suite("fw_cfg reads")
struct FwCfgReadTests {
    static let contents = pattern(count: 0x300, seed: 7)

    func device(_ features: FakeFwCfg.Features = .ioAndDMA) -> FakeFwCfg {
        FakeFwCfg(features: features, files: [
            FakeFile("etc/e820", bytes: [UInt8](repeating: 0xEE, count: 20)),
            FakeFile("opt/stage0/initramfs", bytes: FwCfgReadTests.contents),
        ])
    }

    @Test("a DMA read puts the file's bytes straight at the destination address")
    func dmaReadGoesStraightToDestination() throws {
        let device = device()
        let fwCfg = try makeFwCfg(device)
        let file = try #require(fwCfg.directory.file(named: "opt/stage0/initramfs"))
        device.clearEvents()

        let destination = UnsafeMutableRawBufferPointer.allocate(byteCount: 0x300, alignment: 16)
        defer { destination.deallocate() }
        try fwCfg.read(file, into: destination)

        #expect(Array(destination) == FwCfgReadTests.contents)
        // One descriptor and nothing else: no selector write, no port read, no bounce buffer.
        #expect(device.events.count == 1)
        let transfer = try #require(device.dmaTransfers.first)
        #expect(transfer.address == hostAddress(destination))
        #expect(transfer.control == 0x0021_0000 | 0x08 | 0x02)      // selector 0x21, select + read
        #expect(transfer.length == 0x300)
        #expect(transfer.raw == [0x00, 0x21, 0x00, 0x0A] + bigEndianBytes(UInt32(0x300))
                + bigEndianBytes(hostAddress(destination)))
    }

    @Test("the descriptor's address goes out big-endian: high half to 0x514, then low half to 0x518")
    func descriptorAddressIsBigEndian() throws {
        let device = device()
        let fwCfg = try makeFwCfg(device)
        let file = try #require(fwCfg.directory.file(named: "etc/e820"))
        var bytes = [UInt8](repeating: 0, count: 20)
        try bytes.withUnsafeMutableBytes { try fwCfg.read(file, into: $0) }
        let transfer = try #require(device.dmaTransfers.first)
        // The fake found a well-formed descriptor at the decoded address...
        #expect(transfer.control == 0x0020_000A && transfer.length == 20)
        // ...which is what the driver wrote, each half byte-swapped.
        #expect(transfer.highPortValue == UInt32(truncatingIfNeeded: transfer.descriptorAddress >> 32).byteSwapped)
        #expect(transfer.lowPortValue == UInt32(truncatingIfNeeded: transfer.descriptorAddress).byteSwapped)
        #expect(bytes == [UInt8](repeating: 0xEE, count: 20))
    }

    @Test("the device writes the control word back as 0 when the transfer is done")
    func controlIsClearedWhenDone() throws {
        let device = device()
        let fwCfg = try makeFwCfg(device)
        let file = try #require(fwCfg.directory.file(named: "etc/e820"))
        var bytes = [UInt8](repeating: 0, count: 20)
        try bytes.withUnsafeMutableBytes { try fwCfg.read(file, into: $0) }
        #expect(device.controlLoads == 1)
    }

    @Test("the driver polls the control word until the device clears it")
    func driverWaitsForCompletion() throws {
        let device = device()
        let fwCfg = try makeFwCfg(device)
        let file = try #require(fwCfg.directory.file(named: "etc/e820"))
        device.pollsBeforeCompletion = 3
        var bytes = [UInt8](repeating: 0, count: 20)
        try bytes.withUnsafeMutableBytes { try fwCfg.read(file, into: $0) }
        #expect(device.controlLoads == 3)
        #expect(bytes == [UInt8](repeating: 0xEE, count: 20))
    }

    @Test("a DMA transfer the device never completes is an error, not a hang")
    func neverCompletedDMAIsAnError() throws {
        let device = device()
        let fwCfg = try makeFwCfg(device)
        fwCfg.dmaPollLimit = 1000
        let file = try #require(fwCfg.directory.file(named: "etc/e820"))
        device.pollsBeforeCompletion = 1001
        var bytes = [UInt8](repeating: 0, count: 20)
        #expect(throws: BootError.fwCfgDMANeverCompleted(selector: file.selector.rawValue, polls: 1000)) {
            try bytes.withUnsafeMutableBytes { try fwCfg.read(file, into: $0) }
        }
        #expect(device.controlLoads == 1000)
    }

    @Test("a read at an offset selects and skips to it, then reads without selecting again")
    func readAtOffsetSkipsThenReads() throws {
        let device = device()
        let fwCfg = try makeFwCfg(device)
        let file = try #require(fwCfg.directory.file(named: "opt/stage0/initramfs"))
        device.clearEvents()

        var bytes = [UInt8](repeating: 0, count: 0x80)
        try bytes.withUnsafeMutableBytes { buffer in
            try fwCfg.read(file, at: 0x123, into: buffer)
            let transfers = device.dmaTransfers
            #expect(device.events.count == 2)
            #expect(transfers.count == 2)
            // select + skip to 0x123, then a plain read (no select, which would rewind).
            #expect(transfers.map { [UInt64($0.control), UInt64($0.length), $0.address] } == [
                [0x0021_000C, 0x123, 0],
                [0x02, 0x80, hostAddress(buffer)],
            ])
        }
        #expect(bytes == Array(FwCfgReadTests.contents[0x123..<0x1A3]))
    }

    @Test("without DMA the same bytes arrive by port I/O and no DMA happens")
    func portIOReadGivesSameBytes() throws {
        let device = device(.ioOnly)
        let fwCfg = try makeFwCfg(device)
        let file = try #require(fwCfg.directory.file(named: "opt/stage0/initramfs"))
        device.clearEvents()

        var whole = [UInt8](repeating: 0, count: 0x300)
        try whole.withUnsafeMutableBytes { try fwCfg.read(file, into: $0) }
        var part = [UInt8](repeating: 0, count: 0x80)
        try part.withUnsafeMutableBytes { try fwCfg.read(file, at: 0x123, into: $0) }

        #expect(whole == FwCfgReadTests.contents)
        #expect(part == Array(FwCfgReadTests.contents[0x123..<0x1A3]))
        #expect(device.dmaTransfers.isEmpty)
        #expect(device.selectorWrites == [0x21, 0x21])
        #expect(device.portBytesRead == 0x300 + 0x123 + 0x80)
    }

    @Test("reading exactly up to the end of a file succeeds")
    func readToTheEndSucceeds() throws {
        let device = device()
        let fwCfg = try makeFwCfg(device)
        let file = try #require(fwCfg.directory.file(named: "opt/stage0/initramfs"))
        var tail = [UInt8](repeating: 0, count: 0x10)
        try tail.withUnsafeMutableBytes { try fwCfg.read(file, at: 0x2F0, into: $0) }
        #expect(tail == Array(FwCfgReadTests.contents[0x2F0...]))
    }

    @Test("a read past the end of a file throws fwCfgReadPastEnd before touching the device",
          arguments: [(UInt64(0x2F1), 0x10), (UInt64(0), 0x301), (UInt64(0x301), 0)])
    func readPastEndThrows(offset: UInt64, length: Int) throws {
        for features in [FakeFwCfg.Features.ioAndDMA, .ioOnly] {
            let device = device(features)
            let fwCfg = try makeFwCfg(device)
            let file = try #require(fwCfg.directory.file(named: "opt/stage0/initramfs"))
            device.clearEvents()
            var bytes = [UInt8](repeating: 0x55, count: length)
            #expect(throws: BootError.fwCfgReadPastEnd(file: "opt/stage0/initramfs", offset: offset,
                                                       length: UInt64(length), size: 0x300)) {
                try bytes.withUnsafeMutableBytes { try fwCfg.read(file, at: offset, into: $0) }
            }
            #expect(device.events.isEmpty)
            #expect(bytes.allSatisfy { $0 == 0x55 })
        }
    }

    @Test("a DMA transfer the device flags with the error bit throws fwCfgDMAFailed")
    func dmaErrorThrows() throws {
        let device = device()
        let fwCfg = try makeFwCfg(device)
        let file = try #require(fwCfg.directory.file(named: "opt/stage0/initramfs"))
        device.failsDMA = true
        var bytes = [UInt8](repeating: 0, count: 0x100)
        #expect(throws: BootError.fwCfgDMAFailed(selector: 0x21, offset: 0, length: 0x100)) {
            try bytes.withUnsafeMutableBytes { try fwCfg.read(file, into: $0) }
        }
        // At an offset, the skip is what fails first, and nothing is read after it.
        device.clearEvents()
        #expect(throws: BootError.fwCfgDMAFailed(selector: 0x21, offset: 0, length: 0x40)) {
            try bytes.withUnsafeMutableBytes { try fwCfg.read(file, at: 0x40, into: $0) }
        }
        #expect(device.dmaTransfers.count == 1)
    }

    @Test("reads longer than 1 GiB are split into 1 GiB transfers, the first one selecting")
    func longReadsAreSplit() throws {
        // Destination: reserved address space, never touched (the fake moves no data here).
        let length = Int(gibibyte) + 0x1000
        let device = FakeFwCfg(files: [FakeFile("big", bytes: [1, 2, 3], declaredSize: length + 0x1000)])
        let fwCfg = try makeFwCfg(device)
        let file = try #require(fwCfg.directory.file(named: "big"))
        device.movesData = false
        device.clearEvents()
        let space = FakeRAM.mapAnonymous(length, protection: PROT_NONE)
        defer { munmap(space, length) }
        let destination = UnsafeMutableRawBufferPointer(start: space, count: length)

        try fwCfg.read(file, into: destination)

        let base = hostAddress(destination)
        #expect(device.dmaTransfers.map { [UInt64($0.control), UInt64($0.length), $0.address] } == [
            [0x0020_000A, UInt64(gibibyte), base],
            [0x02, 0x1000, base + gibibyte],
        ])
    }

    @Test("skips longer than 1 GiB are split too, and the read continues where they end")
    func longSkipsAreSplit() throws {
        let device = FakeFwCfg(files: [FakeFile("big", bytes: [1, 2, 3], declaredSize: 0x8000_0000)])
        let fwCfg = try makeFwCfg(device)
        let file = try #require(fwCfg.directory.file(named: "big"))
        device.clearEvents()
        var bytes = [UInt8](repeating: 0x55, count: 16)
        try bytes.withUnsafeMutableBytes { buffer in
            try fwCfg.read(file, at: 0x6000_0000, into: buffer)
            #expect(device.dmaTransfers.map { [UInt64($0.control), UInt64($0.length), $0.address] } == [
                [0x0020_000C, 0x4000_0000, 0],
                [0x04, 0x2000_0000, 0],
                [0x02, 16, hostAddress(buffer)],
            ])
        }
        #expect(bytes == [UInt8](repeating: 0, count: 16))   // past the real bytes: zeros
    }
}

/// The driver remembers where the device is in the selected item, so reading
/// on in the same file skips only the gap instead of starting over.
@Suite("fw_cfg read position")
struct FwCfgPositionTests {
    static let contents = pattern(count: 0x1000, seed: 9)

    func setUp(_ features: FakeFwCfg.Features = .ioAndDMA) throws -> (FakeFwCfg, FwCfg<FakeFwCfg>, FwCfgFile, FwCfgFile) {
        let device = FakeFwCfg(features: features, files: [
            FakeFile("etc/e820", bytes: [UInt8](repeating: 0xEE, count: 20)),
            FakeFile("opt/stage0/elf_kernel", bytes: FwCfgPositionTests.contents),
        ])
        let fwCfg = try makeFwCfg(device)
        let e820 = try #require(fwCfg.directory.file(named: "etc/e820"))
        let kernel = try #require(fwCfg.directory.file(named: "opt/stage0/elf_kernel"))
        device.clearEvents()
        return (device, fwCfg, e820, kernel)
    }

    func read(_ fwCfg: FwCfg<FakeFwCfg>, _ file: FwCfgFile, at offset: UInt64, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try fwCfg.read(file, at: offset, into: $0) }
        return bytes
    }

    func summary(_ device: FakeFwCfg) -> [[UInt64]] {
        device.dmaTransfers.map { [UInt64($0.control), UInt64($0.length)] }
    }

    @Test("reading on further in the same file skips only the gap, without selecting again")
    func readOnSkipsGap() throws {
        let (device, fwCfg, _, kernel) = try setUp()
        #expect(try read(fwCfg, kernel, at: 0, count: 64) == Array(FwCfgPositionTests.contents[0..<64]))
        #expect(try read(fwCfg, kernel, at: 0x100, count: 0x10) == Array(FwCfgPositionTests.contents[0x100..<0x110]))
        #expect(summary(device) == [[0x0021_000A, 64], [0x04, 0x100 - 64], [0x02, 0x10]])
    }

    @Test("reading exactly where the last read ended needs no skip")
    func readOnWithoutGap() throws {
        let (device, fwCfg, _, kernel) = try setUp()
        _ = try read(fwCfg, kernel, at: 0, count: 64)
        #expect(try read(fwCfg, kernel, at: 64, count: 0x20) == Array(FwCfgPositionTests.contents[64..<0x60]))
        #expect(summary(device) == [[0x0021_000A, 64], [0x02, 0x20]])
    }

    @Test("reading backwards selects the file again and skips from its start")
    func readBackwardsReselects() throws {
        let (device, fwCfg, _, kernel) = try setUp()
        _ = try read(fwCfg, kernel, at: 0x800, count: 0x10)
        #expect(try read(fwCfg, kernel, at: 0x400, count: 0x10) == Array(FwCfgPositionTests.contents[0x400..<0x410]))
        #expect(summary(device) == [[0x0021_000C, 0x800], [0x02, 0x10], [0x0021_000C, 0x400], [0x02, 0x10]])
    }

    @Test("a read of another file in between makes the next read select again")
    func otherFileReselects() throws {
        let (device, fwCfg, e820, kernel) = try setUp()
        _ = try read(fwCfg, kernel, at: 0, count: 64)
        #expect(try read(fwCfg, e820, at: 0, count: 20) == [UInt8](repeating: 0xEE, count: 20))
        #expect(try read(fwCfg, kernel, at: 64, count: 0x10) == Array(FwCfgPositionTests.contents[64..<0x50]))
        #expect(summary(device) == [[0x0021_000A, 64], [0x0020_000A, 20], [0x0021_000C, 64], [0x02, 0x10]])
    }

    @Test("a legacy read in between makes the next read select again")
    func legacyReadReselects() throws {
        let (device, fwCfg, _, kernel) = try setUp()
        _ = try read(fwCfg, kernel, at: 0, count: 64)
        _ = fwCfg.readLegacy32(.ramSize)
        #expect(try read(fwCfg, kernel, at: 64, count: 0x10) == Array(FwCfgPositionTests.contents[64..<0x50]))
        #expect(summary(device) == [[0x0021_000A, 64], [0x0021_000C, 64], [0x02, 0x10]])
    }

    @Test("after a DMA error the position is forgotten: the next read selects again")
    func errorForgetsPosition() throws {
        let (device, fwCfg, _, kernel) = try setUp()
        _ = try read(fwCfg, kernel, at: 0, count: 64)
        device.failsDMA = true
        #expect(throws: BootError.fwCfgDMAFailed(selector: 0x21, offset: 64, length: 0x10)) {
            _ = try read(fwCfg, kernel, at: 64, count: 0x10)
        }
        device.failsDMA = false
        device.clearEvents()
        #expect(try read(fwCfg, kernel, at: 64, count: 0x10) == Array(FwCfgPositionTests.contents[64..<0x50]))
        #expect(summary(device) == [[0x0021_000C, 64], [0x02, 0x10]])
    }

    @Test("by port I/O, reading on skips only the gap too")
    func portIOReadOn() throws {
        let (device, fwCfg, _, kernel) = try setUp(.ioOnly)
        _ = try read(fwCfg, kernel, at: 0, count: 64)
        #expect(try read(fwCfg, kernel, at: 0x100, count: 0x10) == Array(FwCfgPositionTests.contents[0x100..<0x110]))
        #expect(device.selectorWrites == [0x21])
        #expect(device.portBytesRead == 64 + (0x100 - 64) + 0x10)
    }
}

/// The test double itself, against hw/nvram/fw_cfg.c, so the tests above
/// rest on a device that behaves like QEMU's.
@Suite("FakeFwCfg behaves like QEMU's fw_cfg")
struct FakeFwCfgTests {
    /// Runs one DMA request through the fake as the CPU would start it; returns the control word written back.
    func dma(_ device: FakeFwCfg, control: UInt32, length: UInt32, into buffer: UnsafeMutableRawBufferPointer?) -> UInt32 {
        let descriptor = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
        defer { descriptor.deallocate() }
        descriptor.storeBytes(of: control.bigEndian, toByteOffset: 0, as: UInt32.self)
        descriptor.storeBytes(of: length.bigEndian, toByteOffset: 4, as: UInt32.self)
        let address = buffer.map { UInt64(UInt(bitPattern: $0.baseAddress!)) } ?? 0
        descriptor.storeBytes(of: address.bigEndian, toByteOffset: 8, as: UInt64.self)
        let where_ = UInt64(UInt(bitPattern: descriptor))
        device.writeDMAAddress(highPortValue: UInt32(truncatingIfNeeded: where_ >> 32).byteSwapped,
                               lowPortValue: UInt32(truncatingIfNeeded: where_).byteSwapped)
        return UInt32(bigEndian: device.loadDMAControl(descriptor))
    }

    @Test("port reads give the bytes, zeros up to the declared size, then zeros without advancing")
    func portReadsPastTheBytes() {
        let device = FakeFwCfg(files: [FakeFile("f", bytes: [1, 2], declaredSize: 4)])
        device.writeSelector(0x20)
        var bytes = [UInt8](repeating: 0xFF, count: 6)
        bytes.withUnsafeMutableBytes { device.readData(into: $0) }
        #expect(bytes == [1, 2, 0, 0, 0, 0])
    }

    @Test("selecting again rewinds to the start of the item")
    func selectRewinds() {
        let device = FakeFwCfg(files: [FakeFile("f", bytes: [1, 2, 3])])
        var bytes = [UInt8](repeating: 0, count: 2)
        device.writeSelector(0x20)
        bytes.withUnsafeMutableBytes { device.readData(into: $0) }
        device.writeSelector(0x20)
        bytes.withUnsafeMutableBytes { device.readData(into: $0) }
        #expect(bytes == [1, 2])
    }

    @Test("a DMA select+read copies the bytes and zero-fills past the item's end; control comes back 0")
    func dmaReadZeroFills() {
        let device = FakeFwCfg(files: [FakeFile("f", bytes: [1, 2], declaredSize: 3)])
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 5, alignment: 1)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0xFF)
        #expect(dma(device, control: 0x0020_000A, length: 5, into: buffer) == 0)
        #expect(Array(buffer) == [1, 2, 0, 0, 0])
    }

    @Test("a DMA skip advances the offset; a later read without select goes on from there")
    func dmaSkipThenRead() {
        let device = FakeFwCfg(files: [FakeFile("f", bytes: [1, 2, 3, 4, 5])])
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2, alignment: 1)
        defer { buffer.deallocate() }
        #expect(dma(device, control: 0x0020_000C, length: 2, into: nil) == 0)
        #expect(dma(device, control: 0x02, length: 2, into: buffer) == 0)
        #expect(Array(buffer) == [3, 4])
    }

    @Test("a DMA write to a read-only item reports the error bit")
    func dmaWriteFails() {
        let device = FakeFwCfg(files: [FakeFile("f", bytes: [1, 2, 3, 4])])
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 1)
        defer { buffer.deallocate() }
        #expect(dma(device, control: 0x0020_0018, length: 4, into: buffer) == 1)
    }

    @Test("a DMA request with no operation bit only selects, and completes")
    func dmaSelectOnly() {
        let device = FakeFwCfg(files: [FakeFile("f", bytes: [7, 8])])
        #expect(dma(device, control: 0x0020_0008, length: 2, into: nil) == 0)
        var byte: [UInt8] = [0]
        byte.withUnsafeMutableBytes { device.readData(into: $0) }
        #expect(byte == [7])
    }
}
