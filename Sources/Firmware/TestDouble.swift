#if STAGE0_TEST_DOUBLE
import Loader
import Support

/// Only in build/stage0-test-double.bin (make; -DSTAGE0_TEST_DOUBLE), the
/// boot tests' stand-in for inputs QEMU never produces: the memory map
/// comes from opt/stage0-test/e820 (InputFiles.memoryMap), and
/// opt/stage0-test/fault makes the firmware fault on purpose, to prove
/// that a CPU exception is reported (CPUException.swift).
enum TestDouble {
    static let faultFile: StaticString = "opt/stage0-test/fault"
    /// Not mapped: the page tables cover the first 4 GiB.
    static let unmappedAddress: UInt = 0x10_0000_0000

    /// "ud": an arithmetic overflow (Swift traps with ud2); "pf": a read of unmapped memory.
    static func faultIfAsked(_ fwCfg: FwCfg<FwCfgPortIO>) throws(BootError) {
        guard let file = fwCfg.directory.file(named: faultFile), file.size >= 2 else { return }
        let kind = ScratchBuffer(count: 2)
        try fwCfg.read(file, into: kind.bytes)
        log("stage0: test double: faulting on purpose")
        if kind.readOnly[0] == UInt8(ascii: "p") {
            _ = volatile_load32(UnsafeRawPointer(bitPattern: unmappedAddress)!)
        } else {
            // Logged: an unused sum would be optimized away, overflow check and all.
            log("stage0: test double: \((UInt8(truncatingIfNeeded: file.size) | 1) + UInt8.max)")
        }
    }
}
#endif
