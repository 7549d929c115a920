// The items QEMU serves for -kernel, -initrd and -append (hw/i386/x86.c,
// x86_load_linux): a data item whose size is in a companion item. Keys
// pinned with the literal numbers of include/standard-headers/linux/qemu_fw_cfg.h.

import Testing
@testable import Loader

@Suite("fw_cfg legacy items for -kernel, -initrd, -append")
struct FwCfgLegacyItemTests {
    @Test("qemu_fw_cfg.h keys: KERNEL_SIZE 0x08, INITRD_SIZE 0x0B, KERNEL_ENTRY 0x10, KERNEL_DATA 0x11, INITRD_DATA 0x12, CMDLINE_SIZE 0x14, CMDLINE_DATA 0x15, SETUP_SIZE 0x17, SETUP_DATA 0x18")
    func selectorValues() {
        #expect(FwCfgSelector.kernelSize.rawValue == 0x08)
        #expect(FwCfgSelector.initrdSize.rawValue == 0x0B)
        #expect(FwCfgSelector.kernelEntry.rawValue == 0x10)
        #expect(FwCfgSelector.kernelData.rawValue == 0x11)
        #expect(FwCfgSelector.initrdData.rawValue == 0x12)
        #expect(FwCfgSelector.commandLineSize.rawValue == 0x14)
        #expect(FwCfgSelector.commandLineData.rawValue == 0x15)
        #expect(FwCfgSelector.setupSize.rawValue == 0x17)
        #expect(FwCfgSelector.setupData.rawValue == 0x18)
    }

    @Test("an item QEMU does not serve (no -initrd: no INITRD_SIZE) is nil")
    func absentItemIsNil() throws {
        let fwCfg = try makeFwCfg(FakeFwCfg())
        #expect(fwCfg.legacyItem(.initrdData, sizeIn: .initrdSize, name: "INITRD_DATA (-initrd)") == nil)
    }

    @Test("an item whose size item reads 0 is nil")
    func zeroSizeIsNil() throws {
        let device = FakeFwCfg()
        device.setItem(FwCfgSelector.kernelSize.rawValue, bytes: littleEndianBytes(UInt32(0)))
        device.setItem(FwCfgSelector.kernelData.rawValue, bytes: [0xAA])
        let fwCfg = try makeFwCfg(device)
        #expect(fwCfg.legacyItem(.kernelData, sizeIn: .kernelSize, name: "KERNEL_DATA (-kernel)") == nil)
    }

    @Test("an item is a file at the data selector, its size read from the size item: KERNEL_SIZE 8226752 as QEMU serves Debian's bzImage")
    func itemHasCompanionSize() throws {
        let device = FakeFwCfg()
        device.setLegacyItem(.kernelData, sizeIn: .kernelSize, bytes: [0xFC, 0xFA], declaredSize: 8_226_752)
        let fwCfg = try makeFwCfg(device)
        device.clearEvents()
        let item = fwCfg.legacyItem(.kernelData, sizeIn: .kernelSize, name: "KERNEL_DATA (-kernel)")
        #expect(item == FwCfgFile(name: "KERNEL_DATA (-kernel)", selector: FwCfgSelector(0x11), size: 8_226_752))
        // Only the size item is read; the data waits for a read.
        #expect(device.selectorWrites == [0x08])
        #expect(device.portBytesRead == 4)
    }

    @Test("reading SETUP_DATA by DMA selects 0x18 and gives QEMU's bytes")
    func dmaReadUsesDataSelector() throws {
        let device = FakeFwCfg()
        device.setLegacyItem(.setupData, sizeIn: .setupSize, bytes: DebianBzImage.qemuSetupData,
                             declaredSize: Int(DebianBzImage.setupSize))
        let fwCfg = try makeFwCfg(device)
        let setup = try #require(fwCfg.legacyItem(.setupData, sizeIn: .setupSize, name: "SETUP_DATA (-kernel)"))
        #expect(setup.size == 20480)
        device.clearEvents()

        var head = [UInt8](repeating: 0, count: BzImage.headerBytes)
        try head.withUnsafeMutableBytes { try fwCfg.read(setup, into: $0) }
        #expect(head == DebianBzImage.qemuSetupData)
        let transfer = try #require(device.dmaTransfers.first)
        #expect(device.dmaTransfers.count == 1)
        #expect(transfer.control == 0x0018_0000 | 0x08 | 0x02)      // selector 0x18, select + read
        #expect(transfer.length == 0x280)
    }

    @Test("reading it by port I/O selects 0x18 and gives the same bytes")
    func portIOReadUsesDataSelector() throws {
        let device = FakeFwCfg(features: .ioOnly)
        device.setLegacyItem(.setupData, sizeIn: .setupSize, bytes: DebianBzImage.qemuSetupData,
                             declaredSize: Int(DebianBzImage.setupSize))
        let fwCfg = try makeFwCfg(device)
        let setup = try #require(fwCfg.legacyItem(.setupData, sizeIn: .setupSize, name: "SETUP_DATA (-kernel)"))
        device.clearEvents()

        var head = [UInt8](repeating: 0, count: BzImage.headerBytes)
        try head.withUnsafeMutableBytes { try fwCfg.read(setup, into: $0) }
        #expect(head == DebianBzImage.qemuSetupData)
        #expect(device.selectorWrites == [0x18])
        #expect(device.dmaTransfers.isEmpty)
    }

    @Test("reading KERNEL_DATA at the end of its size is fwCfgReadPastEnd, named for the log")
    func readPastEndNamesItem() throws {
        let device = FakeFwCfg()
        device.setLegacyItem(.kernelData, sizeIn: .kernelSize, bytes: [], declaredSize: 0x1000)
        let fwCfg = try makeFwCfg(device)
        let item = try #require(fwCfg.legacyItem(.kernelData, sizeIn: .kernelSize, name: "KERNEL_DATA (-kernel)"))
        var byte: [UInt8] = [0]
        #expect(throws: BootError.fwCfgReadPastEnd(file: "KERNEL_DATA (-kernel)", offset: 0x1000, length: 1, size: 0x1000)) {
            try byte.withUnsafeMutableBytes { try fwCfg.read(item, at: 0x1000, into: $0) }
        }
    }
}
