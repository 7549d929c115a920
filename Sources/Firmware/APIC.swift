import Loader
import Support

/// The local APIC and the I/O APICs, read for the MP tables: each I/O
/// APIC's own ID and version registers (82093AA datasheet, 3.0: an index
/// register at the base, a data window at base + 0x10), and the local
/// APIC's version register (Intel SDM vol. 3, 11.4.8).
enum APIC {
    static let localAPICVersionRegister: UInt = 0xFEE0_0030
    /// The I/O APIC the ISA IRQs go to (QEMU hw/i386/microvm.h IO_APIC_DEFAULT_ADDRESS).
    static let ioAPICAddress: UInt32 = 0xFEC0_0000
    static let ioAPICIDRegister: UInt32 = 0x00
    static let ioAPICVersionRegister: UInt32 = 0x01
    static let ioAPICWindowOffset: UInt = 0x10

    static var localAPICVersion: UInt8 {
        UInt8(truncatingIfNeeded: volatile_load32(UnsafeRawPointer(bitPattern: localAPICVersionRegister)!))
    }

    /// The ID register's bits 27:24, the version register's low byte.
    static var ioAPIC: MPTable.IOAPIC {
        MPTable.IOAPIC(id: UInt8(readIOAPIC(ioAPICAddress, ioAPICIDRegister) >> 24 & 0x0F),
                       version: UInt8(truncatingIfNeeded: readIOAPIC(ioAPICAddress, ioAPICVersionRegister)),
                       address: ioAPICAddress)
    }

    private static func readIOAPIC(_ base: UInt32, _ register: UInt32) -> UInt32 {
        volatile_store32(UnsafeMutableRawPointer(bitPattern: UInt(base))!, register)
        return volatile_load32(UnsafeRawPointer(bitPattern: UInt(base) + ioAPICWindowOffset)!)
    }
}
