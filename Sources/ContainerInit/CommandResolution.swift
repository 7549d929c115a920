// Docker's rules for what runs: ENTRYPOINT + CMD, ARGS replacing CMD, and
// the environment defaults (PATH, HOSTNAME, HOME) it adds.

/// Docker's default PATH, used when the image sets none.
let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/// ENTRYPOINT followed by CMD, or by ARGS when given.
func containerArguments(entrypoint: [String], cmd: [String], overrideArguments: [String]?) throws(InitError) -> [String] {
    let arguments = entrypoint + (overrideArguments ?? cmd)
    guard !arguments.isEmpty else {
        throw .cannotStart(message: "no command specified: the image has no ENTRYPOINT or CMD and none was given", status: 125)
    }
    return arguments
}

/// The image's environment with Docker's defaults filled in.
func containerEnvironment(_ env: [String], hostname: String, home: String) -> [String] {
    var result: [String] = []
    func has(_ name: String) -> Bool { result.contains { $0.hasPrefix(name + "=") } }
    for variable in env {
        let name = variable.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? variable
        result.removeAll { $0.hasPrefix(name + "=") } // the last assignment wins
        result.append(variable)
    }
    if !has("PATH") { result.insert("PATH=" + defaultPath, at: 0) }
    if !has("HOSTNAME") { result.append("HOSTNAME=" + hostname) }
    if !has("HOME") { result.append("HOME=" + home) }
    return result
}

func environmentValue(_ name: String, in env: [String]) -> String? {
    for variable in env where variable.hasPrefix(name + "=") {
        return String(variable.dropFirst(name.utf8.count + 1))
    }
    return nil
}

/// Where argv[0] is: itself when it has a '/', else the first executable
/// file of that name on the container's PATH.
func resolveExecutable(_ name: String, path: String, isExecutableFile: (String) -> Bool, exists: (String) -> Bool) throws(InitError) -> String {
    if name.contains("/") { return name }
    var sawNonExecutable = false
    for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
        let base = directory.isEmpty ? "." : String(directory)
        let candidate = base + "/" + name
        if isExecutableFile(candidate) { return candidate }
        if exists(candidate) { sawNonExecutable = true }
    }
    if sawNonExecutable {
        throw .cannotStart(message: "exec: \"\(name)\": permission denied", status: 126)
    }
    throw .cannotStart(message: "exec: \"\(name)\": executable file not found in $PATH", status: 127)
}
