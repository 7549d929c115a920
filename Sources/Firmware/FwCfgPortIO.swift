import Loader
import Support

/// The fw_cfg registers at their x86 I/O ports (QEMU docs/specs/fw_cfg.rst,
/// "x86, x86_64 Register Locations").
struct FwCfgPortIO: FwCfgPorts {
    static let selectorPort: UInt16 = 0x510
    static let dataPort: UInt16 = 0x511
    static let dmaAddressHighPort: UInt16 = 0x514
    static let dmaAddressLowPort: UInt16 = 0x518

    func writeSelector(_ value: UInt16) {
        port_write16(FwCfgPortIO.selectorPort, value)
    }

    func readData(into buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        port_read8_string(FwCfgPortIO.dataPort, base, UInt64(buffer.count))
    }

    func writeDMAAddress(highPortValue: UInt32, lowPortValue: UInt32) {
        port_write32(FwCfgPortIO.dmaAddressHighPort, highPortValue)
        port_write32(FwCfgPortIO.dmaAddressLowPort, lowPortValue)
    }

    func loadDMAControl(_ descriptor: UnsafeRawPointer) -> UInt32 {
        volatile_load32(descriptor)
    }
}

/// Physical memory as the firmware sees it: identity-mapped (entry.S maps 0..4 GiB).
struct IdentityMappedMemory: GuestMemory {
    func bytes(of region: PhysicalRegion) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: UInt(region.start.value)),
                                      count: Int(region.size))
    }
}
