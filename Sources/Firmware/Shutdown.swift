import Loader
import Support

/// Ending the VM when the boot cannot go on: never a hang, never a jump
/// into a half-loaded kernel. Each way out is tried in turn; the ones the
/// machine lacks are writes to nothing.
enum Shutdown {
    /// QEMU's isa-debug-exit (-device isa-debug-exit,iobase=0xf4): QEMU
    /// exits with status (value << 1) | 1, so 1 gives 3.
    static let debugExitPort: UInt16 = 0xF4
    static let debugExitValue: UInt8 = 1
    /// The microvm ACPI Generic Event Device's sleep control register
    /// (QEMU hw/i386/microvm.h GED_MMIO_BASE_REGS, hw/acpi/generic_event_device.c):
    /// SLP_EN | SLP_TYP=5 (S5) powers off. Absent with acpi=off.
    static let gedSleepControl: UInt = 0xFEA0_0200
    static let gedSleepS5: UInt8 = 0x20 | (5 << 2)

    static func fail(_ error: BootError) -> Never {
        log("stage0: error: \(error.whatMessage): \(error.hintMessage)")
        exitQEMU()
    }

    static func exitQEMU() -> Never {
        port_write8(debugExitPort, debugExitValue)
        UnsafeMutablePointer<UInt8>(bitPattern: gedSleepControl)!.pointee = gedSleepS5
        // Last resort: with -no-reboot, a triple fault makes QEMU exit too.
        triple_fault()
    }
}

/// runtime.c's allocator ends here when the heap is exhausted.
@_cdecl("stage0_out_of_memory")
func outOfMemory(_ requested: Int) -> Never {
    log("stage0: error: the firmware heap is exhausted (\(requested) more bytes wanted, \(STAGE0_HEAP_SIZE) in all): this is a stage0 bug; please report it with the log above")
    Shutdown.exitQEMU()
}
