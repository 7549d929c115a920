import Support

/// COM1, a 16550 UART at the ISA address microvm gives it (QEMU
/// isa-serial: I/O 0x3F8). Transmit only.
enum Serial {
    static let base: UInt16 = 0x3F8
    // 16550 registers (National Semiconductor PC16550D datasheet, table 2).
    static let transmitHolding: UInt16 = base + 0
    static let interruptEnable: UInt16 = base + 1
    static let fifoControl: UInt16 = base + 2
    static let lineControl: UInt16 = base + 3
    static let modemControl: UInt16 = base + 4
    static let lineStatus: UInt16 = base + 5
    static let divisorLatchAccess: UInt8 = 0x80
    static let eightDataBitsNoParity: UInt8 = 0x03
    static let transmitterEmpty: UInt8 = 0x20
    /// The 16550's transmit FIFO: once the holding register reads empty,
    /// this many bytes can go without asking again.
    static let fifoDepth = 16

    /// 115200 8N1, FIFO on, interrupts off.
    static func initialize() {
        port_write8(interruptEnable, 0)
        port_write8(lineControl, divisorLatchAccess)
        port_write8(transmitHolding, 1)      // divisor 1 = 115200 baud
        port_write8(interruptEnable, 0)
        port_write8(lineControl, eightDataBitsNoParity)
        port_write8(fifoControl, 0x07)       // enable and clear FIFOs
        port_write8(modemControl, 0x03)      // DTR, RTS
    }

    static func write(_ byte: UInt8) {
        waitForEmptyFIFO()
        port_write8(transmitHolding, byte)
    }

    /// A FIFO's worth of bytes per status read: under emulation every port
    /// access is an exit to QEMU, and asking before each byte doubles them.
    static func write(_ bytes: UnsafeRawBufferPointer) {
        var sent = 0
        while sent < bytes.count {
            waitForEmptyFIFO()
            let end = min(sent + fifoDepth, bytes.count)
            while sent < end { port_write8(transmitHolding, bytes[sent]); sent += 1 }
        }
    }

    private static func waitForEmptyFIFO() {
        var spins = 0
        // Bounded: a missing UART reads 0xFF and must not hang the boot.
        while port_read8(lineStatus) & transmitterEmpty == 0 && spins < 100_000 { spins += 1 }
    }
}

/// print() in Embedded Swift ends here.
@_cdecl("putchar")
func putchar(_ character: CInt) -> CInt {
    if character == 0x0A { Serial.write(0x0D) }
    Serial.write(UInt8(truncatingIfNeeded: character))
    return character
}
