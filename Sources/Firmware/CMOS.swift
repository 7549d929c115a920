import Support

/// The MC146818 RTC's CMOS RAM: index at port 0x70, data at 0x71. QEMU
/// stores the RAM size there, which is the memory map when etc/e820 is absent.
enum CMOS {
    static let indexPort: UInt16 = 0x70
    static let dataPort: UInt16 = 0x71
    /// Bit 7 of the index keeps NMIs masked while we read.
    static let nmiDisable: UInt8 = 0x80

    static func read(_ register: UInt8) -> UInt8 {
        port_write8(indexPort, register | nmiDisable)
        return port_read8(dataPort)
    }
}
