import ContainerImage
import Foundation

/// The flags `initramfs` and `run` share: how to build the initramfs.
struct ConversionFlags {
    var compression: Compression = .none
    var overrides = RunOverrides()
    var initBinary: String?

    /// Consumes the flag at `arguments[index]` if it is a conversion flag.
    mutating func consume(_ arguments: [String], at index: inout Int) throws -> Bool {
        let flag = arguments[index]
        func value() throws -> String {
            guard index + 1 < arguments.count else { throw ContainerImageError.invalidOption(option: flag, reason: "needs a value") }
            index += 1
            return arguments[index]
        }
        switch flag {
        case "--compress":
            let name = try value()
            guard let compression = Compression(rawValue: name) else {
                throw ContainerImageError.invalidOption(option: flag, reason: "\"\(name)\" is not none, gzip or zstd")
            }
            self.compression = compression
        case "--entrypoint": overrides.entrypoint = try commandWords(try value(), flag: flag)
        case "--cmd": overrides.cmd = try commandWords(try value(), flag: flag)
        case "--env", "-e":
            let assignment = try value()
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw ContainerImageError.invalidOption(option: flag, reason: "\"\(assignment)\" is not NAME=value")
            }
            overrides.env.append(assignment)
        case "--workdir", "-w": overrides.workdir = try value()
        case "--user", "-u": overrides.user = try value()
        case "--init": initBinary = try value()
        default: return false
        }
        index += 1
        return true
    }

    /// The guest /init: --init, else stage0-init next to this executable.
    func resolvedInitBinary() throws -> String {
        if let initBinary { return initBinary }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let candidate = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("stage0-init").path
        guard FileManager.default.isReadableFile(atPath: candidate) else {
            throw ContainerImageError.invalidOption(option: "--init", reason: "no guest init binary at \(candidate); build it with `make container-tools` or pass --init FILE")
        }
        return candidate
    }

    func options() throws -> InitramfsOptions {
        InitramfsOptions(initBinary: try resolvedInitBinary(), compression: compression, overrides: overrides)
    }
}

/// '["a","b"]' as JSON, "" as nothing, anything else split on spaces.
func commandWords(_ text: String, flag: String) throws -> [String] {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    if trimmed.hasPrefix("[") {
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String] else {
            throw ContainerImageError.invalidOption(option: flag, reason: "\(text) is not a JSON array of strings")
        }
        return parsed
    }
    return trimmed.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
}
