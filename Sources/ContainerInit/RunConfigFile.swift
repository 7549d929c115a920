// Reads /.stage0/config, the run configuration `stage0 initramfs` writes
// (format: NUL-terminated "key=value" records; see the host's
// RunConfiguration.swift, which documents and writes it).

struct ContainerConfig: Equatable {
    var entrypoint: [String] = []
    var cmd: [String] = []
    var env: [String] = []
    var workdir = ""
    var user = ""
    var hostname = "stage0"
}

enum InitError: Error, Equatable {
    /// Something the container asked for cannot be set up; `status` is the
    /// exit status to report (Docker's 125/126/127 conventions).
    case cannotStart(message: String, status: Int32)
}

func parseContainerConfig(_ bytes: [UInt8]) throws(InitError) -> ContainerConfig {
    var config = ContainerConfig()
    var sawVersion = false
    for record in bytes.split(separator: 0, omittingEmptySubsequences: true) {
        guard let equals = record.firstIndex(of: UInt8(ascii: "=")) else {
            throw .cannotStart(message: "/.stage0/config: a record has no '='", status: 125)
        }
        let key = String(decoding: record[record.startIndex..<equals], as: UTF8.self)
        let value = String(decoding: record[(equals + 1)...], as: UTF8.self)
        switch key {
        case "stage0-run-config":
            guard value == "1" else { throw .cannotStart(message: "/.stage0/config: version \(value), this /init reads version 1", status: 125) }
            sawVersion = true
        case "entrypoint": config.entrypoint.append(value)
        case "cmd": config.cmd.append(value)
        case "env": config.env.append(value)
        case "workdir": config.workdir = value
        case "user": config.user = value
        case "hostname": config.hostname = value
        default: continue // a newer writer's addition: ignore it
        }
    }
    guard sawVersion else { throw .cannotStart(message: "/.stage0/config: not a stage0 run configuration", status: 125) }
    return config
}
