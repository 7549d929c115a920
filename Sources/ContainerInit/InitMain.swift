import CInitSystem

// /init, PID 1 in the VM. Sets up the container's filesystems, reads the
// run configuration, runs the command the way `docker run` would, and
// ends the VM with one exit-status line when the command exits.

@main
struct ContainerInit {
    static func main() {
        mountContainerFilesystems()
        let status: Int32
        do {
            let plan = try prepareLaunch()
            status = superviseUntilExit(of: launch(plan))
        } catch {
            switch error { case let .cannotStart(message, code): warn(message); status = code }
        }
        finish(status: status)
    }

    static func prepareLaunch() throws(InitError) -> LaunchPlan {
        guard let configBytes = readWholeFile("/" + configPath) else {
            throw .cannotStart(message: "cannot read /\(configPath): this initramfs was not made by stage0", status: 125)
        }
        let config = try parseContainerConfig(configBytes)
        if sethostname(config.hostname, config.hostname.utf8.count) != 0 {
            warn("cannot set the hostname: \(errnoText(init_errno()))")
        }
        let commandLine = readWholeFile("/proc/cmdline").map { String(decoding: $0, as: UTF8.self) } ?? ""
        let arguments = try containerArguments(entrypoint: config.entrypoint, cmd: config.cmd,
                                               overrideArguments: argumentsAfterDashes(commandLine))
        let passwd = parsePasswd(readWholeFile("/etc/passwd").map { String(decoding: $0, as: UTF8.self) } ?? "")
        let groups = parseGroups(readWholeFile("/etc/group").map { String(decoding: $0, as: UTF8.self) } ?? "")
        let user = try resolveUser(config.user, passwd: passwd, groups: groups)
        let workdir = config.workdir.isEmpty ? "/" : config.workdir
        // Docker creates a missing working directory.
        let made = makeDirectories(workdir, mode: 0o755)
        if made != 0 {
            throw .cannotStart(message: "cannot create the working directory \(workdir): \(errnoText(made))", status: 126)
        }
        let environment = containerEnvironment(config.env, hostname: config.hostname, home: user.home)
        return LaunchPlan(arguments: arguments, environment: environment, workdir: workdir, user: user)
    }
}

/// Where `stage0 initramfs` puts the run configuration.
let configPath = ".stage0/config"
