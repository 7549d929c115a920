import ContainerImage
import Foundation

/// `stage0 run IMAGE|INITRAMFS [flags] [-- ARGS...]`: boots the container
/// in QEMU microvm with stage0 as the firmware and returns its exit status.
struct RunCommand {
    var input: String?
    var kernel = defaultArtifact("vmlinux")
    var firmware = defaultArtifact("stage0.bin")
    var memory = "1G"
    var cpus = 1
    var timeout: Double?
    var accelerator = "auto"
    var verbose = false
    var arguments: [String]?
    var flags = ConversionFlags()

    init(arguments: [String]) throws {
        var index = 0
        while index < arguments.count {
            if try flags.consume(arguments, at: &index) { continue }
            let argument = arguments[index]
            func value() throws -> String {
                guard index + 1 < arguments.count else { throw ContainerImageError.invalidOption(option: argument, reason: "needs a value") }
                index += 1
                return arguments[index]
            }
            switch argument {
            case "--": self.arguments = Array(arguments[(index + 1)...]); index = arguments.count; continue
            case "--kernel": kernel = try value()
            case "--firmware", "--bios": firmware = try value()
            case "--memory", "-m": memory = try value()
            case "--cpus":
                let text = try value()
                guard let count = Int(text), count >= 1, count <= 64 else {
                    throw ContainerImageError.invalidOption(option: argument, reason: "\"\(text)\" is not a CPU count from 1 to 64")
                }
                cpus = count
            case "--timeout":
                let text = try value()
                guard let seconds = Double(text), seconds > 0 else {
                    throw ContainerImageError.invalidOption(option: argument, reason: "\"\(text)\" is not a number of seconds")
                }
                timeout = seconds
            case "--accel":
                accelerator = try value()
                guard ["auto", "kvm", "tcg"].contains(accelerator) else {
                    throw ContainerImageError.invalidOption(option: argument, reason: "\"\(accelerator)\" is not auto, kvm or tcg")
                }
            case "--verbose", "-v": verbose = true
            default:
                if argument.hasPrefix("-") { throw ContainerImageError.invalidOption(option: argument, reason: "unknown option") }
                guard input == nil else {
                    throw ContainerImageError.invalidOption(option: argument, reason: "unexpected argument; container arguments go after --")
                }
                input = argument
            }
            index += 1
        }
        guard memory.range(of: #"^[0-9]+[KMGT]?$"#, options: .regularExpression) != nil else {
            throw ContainerImageError.invalidOption(option: "--memory", reason: "\"\(memory)\" is not a size like 512M or 2G")
        }
    }

    func run() throws -> Int32 {
        guard let input else { throw ContainerImageError.invalidOption(option: "IMAGE", reason: "missing; usage: stage0 run IMAGE [-- ARGS...]") }
        for (what, path) in [("--kernel", kernel), ("--firmware", firmware)] where !FileManager.default.isReadableFile(atPath: path) {
            throw ContainerImageError.invalidOption(option: what, reason: "\(path) is not a readable file (run `make` to build it)")
        }
        let initramfs = try InitramfsCache(flags: flags).initramfs(for: input, log: verbose)
        let accelerator = resolvedAccelerator()
        let commandLine = try kernelCommandLine(arguments: arguments, accelerator: accelerator)
        let machine = VirtualMachine(kernel: kernel, firmware: firmware, initramfs: initramfs.path, commandLine: commandLine,
                                     memory: memory, cpus: cpus, accelerator: accelerator, timeout: timeout)
        let outcome = try machine.run(showBootLog: verbose)
        initramfs.cleanUp()
        switch outcome {
        case let .exited(status):
            return status
        case .interrupted:
            FileHandle.standardError.write(Data("stage0: interrupted; the VM was stopped\n".utf8))
            return 130
        case let .timedOut(seconds):
            FileHandle.standardError.write(Data("stage0: error: the container did not finish within \(seconds) s; the VM was stopped\n".utf8))
            return 124
        case let .noStatus(qemuStatus, bootLog):
            let tail = bootLog.suffix(20).joined(separator: "\n")
            FileHandle.standardError.write(Data("""
                stage0: error: the VM stopped (QEMU exit status \(qemuStatus)) without reporting the container's exit status; \
                the last boot log lines:
                \(tail)

                """.utf8))
            return 125
        }
    }

    /// The seed's command line, with container arguments after "--" (the
    /// guest /init reads them there).
    func kernelCommandLine(arguments: [String]?, accelerator: String) throws -> String {
        // panic=-1: a kernel panic restarts, so QEMU exits instead of hanging.
        var line = "console=ttyS0 quiet loglevel=1 panic=-1"
        // Under TCG on a busy host, Linux's PIT calibration of the TSC fails
        // and the boot then hangs before init (seen here in 4 boots of 4).
        // TCG's TSC is the host's, so its rate can simply be given.
        if accelerator == "tcg", let khz = hostTSCkHz() { line += " tsc_early_khz=\(khz)" }
        guard let arguments, !arguments.isEmpty else { return line }
        // The kernel passes at most 32 words to init; it panics beyond that.
        guard arguments.count <= 30 else {
            throw ContainerImageError.invalidOption(option: "ARGS", reason: "\(arguments.count) arguments; the kernel command line carries at most 30")
        }
        line += " --"
        for argument in arguments { line += " " + encodeInitArgument(argument) }
        guard line.utf8.count <= 2047 else {
            throw ContainerImageError.invalidOption(option: "ARGS", reason: "the kernel command line would be \(line.utf8.count) bytes; the limit is 2047")
        }
        return line
    }

    /// The host CPU's clock rate in kHz, from /proc/cpuinfo.
    func hostTSCkHz() -> Int? {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("cpu MHz") }),
              let value = line.split(separator: ":").last.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }),
              value > 0 else { return nil }
        return Int(value * 1000)
    }

    /// KVM where it can run Linux guests: /dev/kvm is usable and this is not
    /// itself a VM (nested KVM hangs Linux guests on the build machines),
    /// else TCG.
    func resolvedAccelerator() -> String {
        if accelerator != "auto" { return accelerator }
        let kvmUsable = access("/dev/kvm", R_OK | W_OK) == 0
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let nested = cpuinfo.split(separator: "\n").contains { $0.hasPrefix("flags") && $0.split(separator: " ").contains("hypervisor") }
        return kvmUsable && !nested ? "kvm" : "tcg"
    }
}

/// One argument as a command-line word: bytes the kernel's parser would
/// split on or strip (space, quotes, control characters), '%' and non-ASCII
/// become %XX, which the guest /init decodes; "" stands for an empty one.
func encodeInitArgument(_ argument: String) -> String {
    if argument.isEmpty { return "\"\"" }
    var word = ""
    for byte in argument.utf8 {
        if byte > 0x20 && byte < 0x7f && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "%") {
            word.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            let digits = Array("0123456789ABCDEF")
            word += "%" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xf)])
        }
    }
    return word
}

/// build/vmlinux and build/stage0.bin sit next to build/stage0: found
/// there from any directory, else under ./build.
func defaultArtifact(_ name: String) -> String {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    let beside = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent(name).path
    return FileManager.default.isReadableFile(atPath: beside) ? beside : "build/" + name
}
