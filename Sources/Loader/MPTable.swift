/// The Intel MultiProcessor Specification 1.4 tables (chapter 4): a
/// floating pointer ("_MP_") that Linux finds by scanning the last KiB of
/// base memory, pointing at a configuration table ("PCMP") of processor,
/// bus, I/O APIC and interrupt entries. With ACPI, Linux takes the CPUs
/// from the MADT and only scans for this; without a pointer in the first
/// two places it looks it searches the whole F segment, mapping it 16 bytes
/// at a time, which under TCG costs tens of milliseconds. Without ACPI
/// (microvm,acpi=off) it is the only way Linux learns of CPUs beyond the first.
public enum MPTable {
    // MP spec 1.4, 4.1 (floating pointer) and 4.2 (configuration table header).
    static let floatingPointerSize = 16
    static let headerSize = 44
    static let specRevision: UInt8 = 4
    // 4.3: entry types and sizes.
    static let processorEntry: UInt8 = 0, processorEntrySize = 20
    static let busEntry: UInt8 = 1, busEntrySize = 8
    static let ioAPICEntry: UInt8 = 2, ioAPICEntrySize = 8
    static let interruptEntry: UInt8 = 3, localInterruptEntry: UInt8 = 4, interruptEntrySize = 8
    // 4.3.4: interrupt types.
    static let vectoredInterrupt: UInt8 = 0, nmi: UInt8 = 1, externalInterrupt: UInt8 = 3
    static let processorEnabled: UInt8 = 1 << 0, processorIsBootstrap: UInt8 = 1 << 1
    static let ioAPICEnabled: UInt8 = 1 << 0
    /// The 16 ISA IRQs, each routed to the I/O APIC pin of the same number
    /// (IRQ 0, the PIT, to pin 2 when QEMU says so: FW_CFG_IRQ0_OVERRIDE).
    static let isaIRQs = 16
    static let localAPICAddress: UInt32 = 0xFEE0_0000
    /// Local APIC IDs are 8 bits, and 0xFF means "all" in local interrupt entries.
    public static let maximumCPUs = 254

    public struct IOAPIC: Equatable, Sendable {
        public let id: UInt8
        public let version: UInt8
        public let address: UInt32
        public init(id: UInt8, version: UInt8, address: UInt32) {
            self.id = id; self.version = version; self.address = address
        }
    }

    /// What the tables describe: QEMU's CPU count, CPUID leaf 1 (signature
    /// in EAX, features in EDX), the local APIC version, and the I/O APIC
    /// that takes the ISA IRQs, as its own ID and version registers report
    /// it. (microvm's second I/O APIC exists only with ACPI, whose MADT
    /// describes it.)
    public struct Machine: Equatable, Sendable {
        public let cpuCount: Int
        public let cpuSignature: UInt32
        public let cpuFeatures: UInt32
        public let localAPICVersion: UInt8
        public let ioAPIC: IOAPIC
        public let irq0OnPin2: Bool
        public init(cpuCount: Int, cpuSignature: UInt32, cpuFeatures: UInt32, localAPICVersion: UInt8,
                    ioAPIC: IOAPIC, irq0OnPin2: Bool) {
            self.cpuCount = cpuCount; self.cpuSignature = cpuSignature; self.cpuFeatures = cpuFeatures
            self.localAPICVersion = localAPICVersion; self.ioAPIC = ioAPIC; self.irq0OnPin2 = irq0OnPin2
        }
    }

    /// I/O interrupt entries: one per ISA IRQ, but for IRQ 2 when IRQ 0 takes its pin.
    static func isaInterruptEntries(_ machine: Machine) -> Int { isaIRQs - (machine.irq0OnPin2 ? 1 : 0) }

    /// Bytes the floating pointer and the configuration table take.
    public static func size(of machine: Machine) -> Int {
        floatingPointerSize + headerSize + machine.cpuCount * processorEntrySize + busEntrySize + ioAPICEntrySize
            + (isaInterruptEntries(machine) + 2) * interruptEntrySize
    }

    /// Writes the floating pointer at the start of `memory` (which is at
    /// physical address `base`) and the configuration table right after it;
    /// false (nothing written) when the CPUs do not fit in `memory` or in
    /// 8-bit APIC IDs.
    public static func write(_ machine: Machine, into memory: UnsafeMutableRawBufferPointer,
                             at base: PhysicalAddress) -> Bool {
        guard (1...maximumCPUs).contains(machine.cpuCount), size(of: machine) <= memory.count else { return false }
        memory.initializeMemory(as: UInt8.self, repeating: 0)
        var writer = TableWriter(memory: memory, offset: floatingPointerSize + headerSize)

        for cpu in 0..<machine.cpuCount {
            writer.byte(processorEntry); writer.byte(UInt8(cpu)); writer.byte(machine.localAPICVersion)
            writer.byte(processorEnabled | (cpu == 0 ? processorIsBootstrap : 0))
            writer.u32(machine.cpuSignature); writer.u32(machine.cpuFeatures); writer.skip(8)
        }
        let isaBus: UInt8 = 0
        writer.byte(busEntry); writer.byte(isaBus); writer.ascii("ISA   ")
        let isaAPIC = machine.ioAPIC.id
        writer.byte(ioAPICEntry); writer.byte(isaAPIC); writer.byte(machine.ioAPIC.version)
        writer.byte(ioAPICEnabled); writer.u32(machine.ioAPIC.address)
        for irq in 0..<isaIRQs {
            // With the override, pin 2 carries IRQ 0; the cascade IRQ 2 has no pin of its own.
            if machine.irq0OnPin2 && irq == 2 { continue }
            let pin = machine.irq0OnPin2 && irq == 0 ? 2 : irq
            // Flags 0: polarity and trigger mode as the bus defines them (ISA: active high, edge).
            writer.byte(interruptEntry); writer.byte(vectoredInterrupt); writer.u16(0)
            writer.byte(isaBus); writer.byte(UInt8(irq)); writer.byte(isaAPIC); writer.byte(UInt8(pin))
        }
        // The 8259's output on the bootstrap CPU's LINT0; NMI on every CPU's LINT1 (virtual wire mode).
        writer.byte(localInterruptEntry); writer.byte(externalInterrupt); writer.u16(0)
        writer.byte(isaBus); writer.byte(0); writer.byte(0); writer.byte(0)
        writer.byte(localInterruptEntry); writer.byte(nmi); writer.u16(0)
        writer.byte(isaBus); writer.byte(0); writer.byte(0xFF); writer.byte(1)
        let tableLength = writer.offset - floatingPointerSize
        // Processors, the bus, the I/O APIC, the I/O interrupts, the two local interrupts.
        let entryCount = machine.cpuCount + 2 + isaInterruptEntries(machine) + 2

        var header = TableWriter(memory: memory, offset: floatingPointerSize)
        header.ascii("PCMP"); header.u16(UInt16(tableLength)); header.byte(specRevision); header.skip(1)
        header.ascii("STAGE0  "); header.ascii("QEMU microvm")     // OEM ID (8), product ID (12)
        header.skip(4 + 2)                                          // no OEM table
        header.u16(UInt16(entryCount)); header.u32(localAPICAddress)
        let table = UnsafeMutableRawBufferPointer(rebasing: memory[floatingPointerSize..<writer.offset])
        table[7] = checksum(of: UnsafeRawBufferPointer(table))

        var pointer = TableWriter(memory: memory, offset: 0)
        pointer.ascii("_MP_"); pointer.u32(UInt32(base.value) + UInt32(floatingPointerSize))
        pointer.byte(1)                      // length in 16-byte units
        pointer.byte(specRevision)
        // Checksum at byte 10; feature bytes 0: the configuration table is present, virtual wire mode.
        let floating = UnsafeMutableRawBufferPointer(rebasing: memory[0..<floatingPointerSize])
        floating[10] = checksum(of: UnsafeRawBufferPointer(floating))
        return true
    }

    /// The byte that makes `bytes` (whose checksum byte is still 0) sum to zero.
    static func checksum(of bytes: UnsafeRawBufferPointer) -> UInt8 {
        var sum: UInt8 = 0
        for byte in bytes { sum &+= byte }
        return 0 &- sum
    }
}

/// Little-endian fields written in order into a zeroed buffer.
struct TableWriter {
    let memory: UnsafeMutableRawBufferPointer
    var offset: Int

    // Out of line: the MP tables are many small writes, and the firmware image is 64 KiB.
    @inline(never)
    mutating func byte(_ value: UInt8) { memory[offset] = value; offset += 1 }
    @inline(never)
    mutating func u16(_ value: UInt16) { byte(UInt8(truncatingIfNeeded: value)); byte(UInt8(truncatingIfNeeded: value >> 8)) }
    @inline(never)
    mutating func u32(_ value: UInt32) { u16(UInt16(truncatingIfNeeded: value)); u16(UInt16(truncatingIfNeeded: value >> 16)) }
    mutating func skip(_ count: Int) { offset += count }
    @inline(never)
    mutating func ascii(_ text: StaticString) {
        for index in 0..<text.utf8CodeUnitCount { byte(text.utf8Start[index]) }
    }
}
