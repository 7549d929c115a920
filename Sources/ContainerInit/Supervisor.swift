import CInitSystem

// PID 1's job once the container is configured: start the command, reap
// every process that dies (orphans are re-parented to PID 1), and when the
// command itself exits, stop the rest, report its status and end the VM.

/// The one line the host looks for; everything before it is the container's.
let exitStatusMarker = "STAGE0_EXIT_STATUS="

struct LaunchPlan {
    var arguments: [String]
    var environment: [String]
    var workdir: String
    var user: ResolvedUser
}

/// Forks and execs; returns the child's pid. Failures in the child end it
/// with Docker's statuses (126 cannot execute, 127 not found).
func launch(_ plan: LaunchPlan) -> pid_t {
    let path = environmentValue("PATH", in: plan.environment) ?? defaultPath
    let argv = cStringArray(plan.arguments)
    let envp = cStringArray(plan.environment)
    let pid = fork()
    if pid != 0 { return pid }

    // The child: its own session, the user's identity, the working directory, exec.
    _ = setsid()
    var groups = plan.user.supplementaryGroups.map { gid_t($0) }
    if setgroups(groups.count, &groups) != 0 || setgid(plan.user.gid) != 0 || setuid(plan.user.uid) != 0 {
        failChild("cannot switch to uid \(plan.user.uid) gid \(plan.user.gid): \(errnoText(init_errno()))", status: 126)
    }
    if chdir(plan.workdir) != 0 {
        failChild("cannot change to the working directory \(plan.workdir): \(errnoText(init_errno()))", status: 126)
    }
    let executable: String
    do {
        executable = try resolveExecutable(plan.arguments[0], path: path, isExecutableFile: isExecutableFile, exists: pathExists)
    } catch {
        switch error { case let .cannotStart(message, status): failChild(message, status: status) }
    }
    execve(executable, argv, envp)
    let code = init_errno()
    switch code {
    case ENOENT: failChild("exec: \"\(executable)\": no such file or directory", status: 127)
    case EACCES: failChild("exec: \"\(executable)\": permission denied", status: 126)
    case ENOEXEC: failChild("exec: \"\(executable)\": exec format error", status: 126)
    default: failChild("exec: \"\(executable)\": \(errnoText(code))", status: 126)
    }
}

func failChild(_ message: String, status: Int32) -> Never {
    warn(message)
    _exit(status)
}

/// Waits for `mainProcess`, reaping every other child along the way.
/// Returns the status Docker would report (128 + signal when killed).
func superviseUntilExit(of mainProcess: pid_t) -> Int32 {
    while true {
        var status: Int32 = 0
        let pid = wait(&status)
        if pid < 0 {
            if init_errno() == EINTR { continue }
            return 125 // no children left: the main process is gone without a status
        }
        if pid == mainProcess {
            if init_exited(status) != 0 { return init_exit_status(status) }
            if init_signaled(status) != 0 { return 128 + init_term_signal(status) }
            return 125
        }
    }
}

/// The container is over: stop what is left, report, and leave the VM.
func finish(status: Int32) -> Never {
    _ = kill(-1, SIGKILL)
    var ignored: Int32 = 0
    while wait(&ignored) > 0 {}
    consoleWrite("\(exitStatusMarker)\(status)\n")
    sync()
    // A restart is what ends QEMU here: -no-reboot turns it into an exit,
    // and without ACPI a power-off would only halt the CPU.
    _ = reboot(Int32(bitPattern: UInt32(RB_AUTOBOOT)))
    _ = reboot(Int32(bitPattern: UInt32(RB_POWER_OFF)))
    // PID 1 must never exit (the kernel would panic); wait for the end.
    while true { _ = pause() }
}
