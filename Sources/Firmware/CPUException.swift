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

    static func name(_ vector: UInt64) -> StaticString {
        switch vector {
        case 0: return "#DE"
        case 1: return "#DB"
        case 2: return "NMI"
        case 3: return "#BP"
        case 4: return "#OF"
        case 5: return "#BR"
        case 6: return "#UD"
        case 7: return "#NM"
        case 8: return "#DF"
        case 10: return "#TS"
        case 11: return "#NP"
        case 12: return "#SS"
        case 13: return "#GP"
        case 14: return "#PF"
        case 16: return "#MF"
        case 17: return "#AC"
        case 18: return "#MC"
        case 19: return "#XM"
        case 20: return "#VE"
        case 21: return "#CP"
        case 28: return "#HV"
        case 29: return "#VC"
        case 30: return "#SX"
        default: return "reserved"
        }
    }
}
