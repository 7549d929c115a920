import Foundation
import Glibc

// What IMAGE on the command line is, decided from what is there:
// - a directory with oci-layout: an OCI image layout;
// - a directory with manifest.json: an unpacked docker-archive;
// - another directory: a root filesystem;
// - a tar with oci-layout: an OCI archive; with manifest.json: a docker-archive;
// - another tar (possibly gzip/zstd compressed): a root filesystem (`docker export`);
// - a name that is no file: saved with a local podman or docker CLI.

public final class ImageInput {
    public let reference: String
    public let image: ResolvedImage
    /// A temporary archive made by `podman save`/`docker save`, removed on deinit.
    private let temporaryDirectory: String?

    private init(reference: String, image: ResolvedImage, temporaryDirectory: String? = nil) {
        self.reference = reference
        self.image = image
        self.temporaryDirectory = temporaryDirectory
    }

    deinit {
        if let temporaryDirectory { try? FileManager.default.removeItem(atPath: temporaryDirectory) }
    }

    public static func open(_ reference: String) throws -> ImageInput {
        var info = stat()
        if stat(reference, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR {
                return ImageInput(reference: reference, image: try resolveDirectory(reference))
            }
            return ImageInput(reference: reference, image: try resolveFile(reference))
        }
        let reason = errnoDescription()
        if reference.contains("/") && (reference.hasPrefix(".") || reference.hasPrefix("/")) {
            throw ContainerImageError.imageNotFound(reference: reference, reason: reason)
        }
        return try saveWithContainerCLI(reference, missingFileReason: reason)
    }

    static func resolveDirectory(_ path: String) throws -> ResolvedImage {
        let store = DirectoryBlobStore(root: path)
        if try store.contains("oci-layout") {
            return try OCIImageReader(store: store, format: "OCI image layout").resolve()
        }
        if try store.contains("manifest.json") {
            return try DockerArchiveReader(store: store).resolve()
        }
        return ResolvedImage(layers: [DirectoryLayer(root: path)], config: ImageConfig(), digest: nil, format: "directory")
    }

    static func resolveFile(_ path: String) throws -> ResolvedImage {
        var head = [UInt8](repeating: 0, count: 512)
        let stream = try FileStream(path: path)
        let n = try head.withUnsafeMutableBytes { try stream.readFully(into: $0) }
        if Compression.detect(Array(head[..<min(n, 4)])) != .none {
            return rootfsTar(path)
        }
        guard n == 512 else {
            throw ContainerImageError.malformedArchive(file: path, reason: "only \(n) bytes: not a tar archive")
        }
        let store = try TarArchiveStore(path: path)
        if store.members["oci-layout"] != nil {
            return try OCIImageReader(store: store, format: "OCI archive").resolve()
        }
        if store.members["manifest.json"] != nil {
            return try DockerArchiveReader(store: store).resolve()
        }
        return rootfsTar(path)
    }

    private static func rootfsTar(_ path: String) -> ResolvedImage {
        let layer = TarLayer(name: path, blobDigest: nil, uncompressedDigest: nil) { try FileStream(path: path) }
        return ResolvedImage(layers: [layer], config: ImageConfig(), digest: nil, format: "root filesystem tar")
    }

    /// Saves a named image with whichever container CLI works here.
    private static func saveWithContainerCLI(_ name: String, missingFileReason: String) throws -> ImageInput {
        let tools = ["podman", "docker"].filter { findExecutable($0) != nil }
        guard !tools.isEmpty else {
            throw ContainerImageError.imageNotFound(reference: name, reason: "no such file or directory, and no podman or docker CLI to save it from")
        }
        let directory = NSTemporaryDirectory() + "stage0-save-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var failures: [String] = []
        for tool in tools {
            let archive = directory + "/\(tool).tar"
            let arguments = tool == "podman"
                ? ["save", "--format", "oci-archive", "-o", archive, name]
                : ["save", "-o", archive, name]
            let (status, output) = runTool(findExecutable(tool)!, arguments)
            if status == 0 {
                do {
                    return ImageInput(reference: name, image: try resolveFile(archive), temporaryDirectory: directory)
                } catch {
                    try? FileManager.default.removeItem(atPath: directory)
                    throw error
                }
            }
            let message = output.split(separator: "\n").last.map(String.init) ?? "exit status \(status)"
            failures.append("\(tool) save: \(message)")
        }
        try? FileManager.default.removeItem(atPath: directory)
        throw ContainerImageError.imageNotFound(reference: name, reason: "not a file (\(missingFileReason)) and not saveable: " + failures.joined(separator: "; "))
    }
}

func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}

/// Runs a tool to completion; returns its status and its stderr+stdout.
func runTool(_ executable: String, _ arguments: [String]) -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch { return (127, "\(error)") }
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}
