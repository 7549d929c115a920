import Loader
import Support

/// entry.S points CPU exception vectors 0-31 here. In the firmware the
/// usual one is #UD: Embedded Swift compiles a failed run-time check
/// (overflow, bounds, precondition) to ud2. After the jump it can be the
/// kernel, faulting before it has installed its own handlers. Either way
/// the VM stops with a line that says what happened and where, instead of
/// triple-faulting in silence. (entry.S has already loaded an empty IDT, so
/// an exception while reporting this one resets the machine at once.)
/// `kernelEntered` is entry.S's flag, set as it jumps to the kernel.
@_cdecl("stage0_exception")
func reportCPUException(vector: UInt64, errorCode: UInt64, instruction: UInt64, faultAddress: UInt64,
                        kernelEntered: Bool) -> Never {
    var line: Message = "stage0: error: CPU exception \(vector) (\(CPUException.name(vector))) at \(hex: instruction)"
    if vector == CPUException.pageFault {
        line.append(message: ", address \(hex: faultAddress), error code \(hex: errorCode)")
    } else if errorCode != CPUException.noErrorCode {
        line.append(message: ", error code \(hex: errorCode)")
    }
    if kernelEntered {
        line.append(": in the kernel, before its own handlers: is it an x86_64 Linux with the right entry point?" as StaticString)
    } else if !FirmwareMemory.image.contains(PhysicalAddress(instruction)) {
        line.append(": stage0 jumped outside its code: a stage0 bug; please report it with this log" as StaticString)
    } else {
        if vector == CPUException.invalidOpcode { line.append(": a run-time check failed (overflow, bounds, precondition)" as StaticString) }
        line.append(": a stage0 bug; please report it with this log (the address is in build/stage0.map)" as StaticString)
    }
    log(line)
    Shutdown.exitQEMU()
}

/// Intel SDM vol. 3, 6.15 "Exception and Interrupt Reference".
enum CPUException {
    static let invalidOpcode: UInt64 = 6
    static let pageFault: UInt64 = 14
    /// What entry.S pushes for the vectors whose frame has no error code.
    static let noErrorCode = UInt64.max

    /// The mnemonic of vectors 0-31, three bytes each ("#UD"; "---" reserved).
    static let mnemonics: StaticString =
        "#DE#DBNMI#BP#OF#BR#UD#NM#DF---#TS#NP#SS#GP#PF---#MF#AC#MC#XM#VE#CP------------------#HV#VC#SX---"

    static func name(_ vector: UInt64) -> Message {
        guard vector < 32 else { return "---" }
        return "\(bytes: UnsafeRawBufferPointer(start: mnemonics.utf8Start + Int(vector) * 3, count: 3))"
    }
}
