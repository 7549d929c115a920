import Foundation

/// One QEMU microvm boot with stage0 as the firmware, its serial console
/// filtered onto stdout, ending when the /init reports the exit status.
struct VirtualMachine {
    enum Outcome {
        case exited(Int32)
        case interrupted
        case timedOut(Double)
        case noStatus(qemuStatus: Int32, bootLog: [String])
    }

    let kernel: String
    let firmware: String
    let initramfs: String
    let commandLine: String
    let memory: String
    let cpus: Int
    let accelerator: String
    let timeout: Double?

    /// The seed's QEMU command line.
    var qemuArguments: [String] {
        ["-machine", "microvm,accel=\(accelerator)"] + (accelerator == "kvm" ? ["-cpu", "host"] : []) + [
            "-m", memory, "-smp", "\(cpus)", "-nographic", "-nodefaults", "-no-reboot", "-serial", "stdio",
            "-bios", firmware,
            "-fw_cfg", "name=opt/stage0/elf_kernel,file=\(kernel)",
            "-fw_cfg", "name=opt/stage0/initramfs,file=\(initramfs)",
            "-fw_cfg", "name=opt/stage0/cmdline,string=\(commandLine.replacingOccurrences(of: ",", with: ",,"))",
        ]
    }

    func run(showBootLog: Bool) throws -> Outcome {
        let qemu = ProcessInfo.processInfo.environment["QEMU"] ?? "qemu-system-x86_64"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: qemu.contains("/") ? qemu : (findInPath(qemu) ?? qemu))
        process.arguments = qemuArguments
        let console = Pipe()
        process.standardOutput = console
        // Without a terminal on stdin, the container reads end-of-file.
        if isatty(0) == 0 { process.standardInput = FileHandle.nullDevice }
        do { try process.run() } catch {
            throw RunError.cannotStartQEMU(executable: qemu, reason: "\(error)")
        }

        // Ctrl-C or SIGTERM: stop QEMU (SIGTERM makes it exit cleanly and
        // restore the terminal), then report. A terminal's Ctrl-C reaches
        // QEMU directly as well.
        let stopped = StopFlag()
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { stopped.set(.interrupted); process.terminate() }
            source.resume()
            sources.append(source)
        }
        if let timeout {
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                if process.isRunning { stopped.set(.timedOut); process.terminate() }
            }
        }

        var filter = ConsoleFilter(showBootLog: showBootLog)
        let reader = console.fileHandleForReading
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(reader.fileDescriptor, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            let output = filter.feed(Array(buffer[0..<n]))
            if !output.isEmpty { FileHandle.standardOutput.write(Data(output)) }
            if filter.exitStatus != nil && !showBootLog { break }
        }
        if filter.exitStatus != nil && process.isRunning {
            // The /init has restarted the VM; give QEMU a moment to exit on its own.
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { process.terminate() }
        }
        process.waitUntilExit()
        sources.forEach { $0.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)

        if let status = filter.exitStatus { return .exited(status) }
        switch stopped.value {
        case .interrupted: return .interrupted
        case .timedOut: return .timedOut(timeout ?? 0)
        case nil: return .noStatus(qemuStatus: process.terminationStatus, bootLog: filter.hiddenTail)
        }
    }

    private func findInPath(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// Why the VM was stopped from the host side, set from signal handlers.
final class StopFlag: @unchecked Sendable {
    enum Reason { case interrupted, timedOut }
    private let lock = NSLock()
    private var reason: Reason?
    func set(_ value: Reason) { lock.lock(); if reason == nil { reason = value }; lock.unlock() }
    var value: Reason? { lock.lock(); defer { lock.unlock() }; return reason }
}

/// Failures of the VM itself (the image and flags are ContainerImageError).
enum RunError: Error, CustomStringConvertible {
    case cannotStartQEMU(executable: String, reason: String)
    var description: String {
        switch self {
        case let .cannotStartQEMU(executable, reason): return "cannot start \(executable): \(reason) (install qemu-system-x86)"
        }
    }
}
