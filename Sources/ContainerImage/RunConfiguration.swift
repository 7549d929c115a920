// How the container runs: the image config's Entrypoint, Cmd, Env,
// WorkingDir and User, with the command-line flags applied the way
// `docker run` applies them. Written into the initramfs as /.stage0/config
// for the guest /init.
//
// File format (version 1): a sequence of NUL-terminated records "key=value";
// keys: "stage0-run-config" (the version, first), "entrypoint" and "cmd"
// (one record per argument, in order), "env" (one per variable, "NAME=value"),
// "workdir", "user", "hostname". NUL cannot occur in arguments, so no
// escaping is needed; newlines and '=' in values are fine.

public struct RunOverrides: Equatable, Sendable {
    /// Replaces the image's Entrypoint; as with `docker run --entrypoint`,
    /// it also drops the image's Cmd unless `cmd` is given.
    public var entrypoint: [String]?
    public var cmd: [String]?
    /// "NAME=value" (set) entries; they replace same-named image variables.
    public var env: [String] = []
    public var workdir: String?
    public var user: String?

    public init(entrypoint: [String]? = nil, cmd: [String]? = nil, env: [String] = [], workdir: String? = nil, user: String? = nil) {
        self.entrypoint = entrypoint; self.cmd = cmd; self.env = env; self.workdir = workdir; self.user = user
    }
}

public struct RunConfiguration: Equatable, Sendable {
    public var entrypoint: [String]
    public var cmd: [String]
    public var env: [String]
    public var workdir: String
    public var user: String
    public var hostname: String

    public static let path = ".stage0/config"
    public static let version = "1"

    public init(image: ImageConfig, overrides: RunOverrides, hostname: String) {
        entrypoint = overrides.entrypoint ?? image.entrypoint ?? []
        if let cmd = overrides.cmd {
            self.cmd = cmd
        } else {
            self.cmd = overrides.entrypoint == nil ? (image.cmd ?? []) : []
        }
        var env = image.env
        for assignment in overrides.env {
            let name = assignment.split(separator: "=", maxSplits: 1).first.map(String.init) ?? assignment
            if let index = env.firstIndex(where: { $0 == name || $0.hasPrefix(name + "=") }) {
                env[index] = assignment
            } else {
                env.append(assignment)
            }
        }
        self.env = env
        workdir = overrides.workdir ?? image.workingDir
        user = overrides.user ?? image.user
        self.hostname = hostname
    }

    public func encoded() -> [UInt8] {
        var records = ["stage0-run-config=\(Self.version)"]
        records += entrypoint.map { "entrypoint=\($0)" }
        records += cmd.map { "cmd=\($0)" }
        records += env.map { "env=\($0)" }
        records += ["workdir=\(workdir)", "user=\(user)", "hostname=\(hostname)"]
        return records.flatMap { Array($0.utf8) + [0] }
    }

    /// Values that cannot be encoded (they contain NUL).
    func validate() throws {
        for value in entrypoint + cmd + env + [workdir, user, hostname] where value.utf8.contains(0) {
            throw ContainerImageError.invalidOption(option: "run configuration", reason: "a value contains a NUL byte")
        }
        for variable in env where !variable.contains("=") || variable.hasPrefix("=") {
            throw ContainerImageError.invalidOption(option: "env", reason: "\"\(variable)\" is not NAME=value")
        }
    }
}
