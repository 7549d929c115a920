import Foundation

/// The parts of an image's config (OCI image config or Docker's) that
/// decide how the container runs, plus the layer diff_ids to verify.
public struct ImageConfig: Equatable, Sendable {
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var env: [String] = []
    public var workingDir: String = ""
    public var user: String = ""
    public var os: String?
    public var architecture: String?
    public var diffIDs: [String] = []

    public init(entrypoint: [String]? = nil, cmd: [String]? = nil, env: [String] = [], workingDir: String = "", user: String = "") {
        self.entrypoint = entrypoint; self.cmd = cmd; self.env = env; self.workingDir = workingDir; self.user = user
    }

    /// Parses a config document; `file` names it in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws -> ImageConfig {
        let document = try jsonObject(bytes, file: file)
        var config = ImageConfig()
        config.os = document["os"] as? String
        config.architecture = document["architecture"] as? String
        if let runtime = document["config"] as? [String: Any] {
            config.entrypoint = try stringArray(runtime["Entrypoint"], key: "Entrypoint", file: file)
            config.cmd = try stringArray(runtime["Cmd"], key: "Cmd", file: file)
            config.env = try stringArray(runtime["Env"], key: "Env", file: file) ?? []
            config.workingDir = runtime["WorkingDir"] as? String ?? ""
            config.user = runtime["User"] as? String ?? ""
        }
        if let rootfs = document["rootfs"] as? [String: Any] {
            config.diffIDs = try stringArray(rootfs["diff_ids"], key: "rootfs.diff_ids", file: file) ?? []
        }
        return config
    }

    private static func stringArray(_ value: Any?, key: String, file: String) throws -> [String]? {
        guard let value, !(value is NSNull) else { return nil }
        guard let array = value as? [Any] else {
            throw ContainerImageError.malformedMetadata(file: file, reason: "\(key) is not an array of strings")
        }
        return try array.map {
            guard let string = $0 as? String else {
                throw ContainerImageError.malformedMetadata(file: file, reason: "\(key) is not an array of strings")
            }
            return string
        }
    }
}

/// A JSON object from bytes, or an error naming the file.
func jsonObject(_ bytes: [UInt8], file: String) throws -> [String: Any] {
    let parsed: Any
    do {
        parsed = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
    } catch {
        throw ContainerImageError.malformedMetadata(file: file, reason: "not valid JSON")
    }
    guard let object = parsed as? [String: Any] else {
        throw ContainerImageError.malformedMetadata(file: file, reason: "not a JSON object")
    }
    return object
}

/// A JSON array of objects (docker-archive's manifest.json).
func jsonArray(_ bytes: [UInt8], file: String) throws -> [[String: Any]] {
    let parsed: Any
    do {
        parsed = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
    } catch {
        throw ContainerImageError.malformedMetadata(file: file, reason: "not valid JSON")
    }
    guard let array = parsed as? [[String: Any]] else {
        throw ContainerImageError.malformedMetadata(file: file, reason: "not a JSON array of objects")
    }
    return array
}
