import Testing
@testable import Loader

/// The MP tables against the MultiProcessor Specification 1.4, chapter 4,
/// and what Linux's arch/x86/kernel/mpparse.c checks before using them.
struct MPTableTests {
    static let ioAPIC = MPTable.IOAPIC(id: 0, version: 0x20, address: 0xFEC0_0000)
    static func machine(cpus: Int, irq0OnPin2: Bool = true) -> MPTable.Machine {
        // CPUID leaf 1 of QEMU's default x86_64 CPU model under TCG.
        MPTable.Machine(cpuCount: cpus, cpuSignature: 0x0006_0FB1, cpuFeatures: 0x0781_ABFD,
                        localAPICVersion: 0x14, ioAPIC: ioAPIC, irq0OnPin2: irq0OnPin2)
    }
    static let base = PhysicalAddress(0x9FC00)

    static func build(_ machine: MPTable.Machine, room: Int = 1024) -> [UInt8]? {
        var memory = [UInt8](repeating: 0xCC, count: room)
        let written = memory.withUnsafeMutableBytes { MPTable.write(machine, into: $0, at: base) }
        return written ? memory : nil
    }

    static func u16(_ bytes: [UInt8], _ offset: Int) -> Int { Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 }
    static func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }
    static func sum(_ bytes: ArraySlice<UInt8>) -> UInt8 { bytes.reduce(0, &+) }

    @Test func floatingPointerIsSixteenBytesThatSumToZeroAndPointAtTheTable() throws {
        let table = try #require(Self.build(Self.machine(cpus: 2)))
        #expect(Array(table[0..<4]) == Array("_MP_".utf8))
        #expect(Self.u32(table, 4) == 0x9FC10)          // physical address of "PCMP"
        #expect(table[8] == 1)                          // length in 16-byte paragraphs
        #expect(table[9] == 4)                          // specification revision 1.4
        #expect(table[11] == 0)                         // feature byte 1: a table follows, no default configuration
        #expect(Self.sum(table[0..<16]) == 0)
    }

    @Test func configurationTableHeaderIsWhatLinuxChecks() throws {
        let table = try #require(Self.build(Self.machine(cpus: 2)))
        let header = 16
        #expect(Array(table[header..<header + 4]) == Array("PCMP".utf8))
        let length = Self.u16(table, header + 4)
        #expect(table[header + 6] == 4)                 // spec revision: Linux takes 1 or 4
        #expect(Self.sum(table[header..<header + length]) == 0)
        #expect(Self.u32(table, header + 36) == 0xFEE0_0000)   // local APIC address
        // 2 processors, 1 bus, 1 I/O APIC, 15 ISA interrupts (IRQ 2 folded into IRQ 0), 2 local interrupts.
        #expect(Self.u16(table, header + 34) == 2 + 1 + 1 + 15 + 2)
        #expect(length == 44 + 2 * 20 + 8 + 8 + 15 * 8 + 2 * 8)
    }

    @Test func processorEntriesNumberTheCPUsFromZeroWithTheFirstAsBootstrap() throws {
        let table = try #require(Self.build(Self.machine(cpus: 4)))
        for cpu in 0..<4 {
            let entry = 16 + 44 + cpu * 20
            #expect(table[entry] == 0)                  // processor entry
            #expect(table[entry + 1] == UInt8(cpu))     // local APIC ID
            #expect(table[entry + 2] == 0x14)
            #expect(table[entry + 3] == (cpu == 0 ? 0x03 : 0x01))   // enabled, bootstrap
            #expect(Self.u32(table, entry + 4) == 0x0006_0FB1)
            #expect(Self.u32(table, entry + 8) == 0x0781_ABFD)
        }
    }

    @Test func theISABusAndTheIOAPICFollowTheProcessors() throws {
        let table = try #require(Self.build(Self.machine(cpus: 1)))
        let bus = 16 + 44 + 20
        #expect(Array(table[bus..<bus + 8]) == [1, 0] + Array("ISA   ".utf8))
        let ioAPIC = bus + 8
        #expect(Array(table[ioAPIC..<ioAPIC + 4]) == [2, 0, 0x20, 1])
        #expect(Self.u32(table, ioAPIC + 4) == 0xFEC0_0000)
    }

    @Test func withTheOverrideIRQ0GoesToPin2AndIRQ2HasNoEntry() throws {
        let table = try #require(Self.build(Self.machine(cpus: 1)))
        let first = 16 + 44 + 20 + 8 + 8
        var routes: [UInt8: UInt8] = [:]
        for index in 0..<15 {
            let entry = first + index * 8
            #expect(table[entry] == 3 && table[entry + 1] == 0)     // I/O interrupt, vectored
            routes[table[entry + 5]] = table[entry + 7]             // ISA IRQ -> I/O APIC pin
        }
        #expect(routes[0] == 2)
        #expect(routes[2] == nil)
        for irq in UInt8(3)..<16 { #expect(routes[irq] == irq) }
    }

    @Test func withoutTheOverrideEveryISAIRQKeepsItsOwnPin() throws {
        let table = try #require(Self.build(Self.machine(cpus: 1, irq0OnPin2: false)))
        let first = 16 + 44 + 20 + 8 + 8
        for irq in 0..<16 {
            let entry = first + irq * 8
            #expect(table[entry + 5] == UInt8(irq) && table[entry + 7] == UInt8(irq))
        }
    }

    @Test func localInterruptsAreExtINTOnLINT0AndNMIOnEveryLINT1() throws {
        let table = try #require(Self.build(Self.machine(cpus: 1)))
        let first = 16 + 44 + 20 + 8 + 8 + 15 * 8
        #expect(Array(table[first..<first + 8]) == [4, 3, 0, 0, 0, 0, 0, 0])
        #expect(Array(table[first + 8..<first + 16]) == [4, 1, 0, 0, 0, 0, 0xFF, 1])
    }

    @Test func tablesBeyondTheirRoomOrAPICIDsAreNotWritten() {
        // 1 KiB holds 40 CPUs.
        #expect(MPTable.size(of: Self.machine(cpus: 40)) <= 1024)
        #expect(MPTable.size(of: Self.machine(cpus: 41)) > 1024)
        #expect(Self.build(Self.machine(cpus: 40)) != nil)
        #expect(Self.build(Self.machine(cpus: 41)) == nil)
        #expect(Self.build(Self.machine(cpus: 0)) == nil)
        #expect(Self.build(Self.machine(cpus: 255), room: 8192) == nil)
        #expect(Self.build(Self.machine(cpus: 254), room: 8192) != nil)
    }

    @Test func aTableThatDoesNotFitLeavesTheMemoryAlone() {
        var memory = [UInt8](repeating: 0xCC, count: 64)
        let written = memory.withUnsafeMutableBytes { MPTable.write(Self.machine(cpus: 4), into: $0, at: Self.base) }
        #expect(!written)
        #expect(memory.allSatisfy { $0 == 0xCC })
    }
}
