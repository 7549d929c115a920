import ContainerImage
import Foundation

/// Initramfs files for `stage0 run`, converted once per image digest,
/// flags and /init binary, kept in $STAGE0_CACHE (default
/// $XDG_CACHE_HOME/stage0 or ~/.cache/stage0). An input that already is
/// an initramfs is used as it is; a directory has no digest and is
/// converted into a temporary file every time.
struct InitramfsCache {
    struct Prepared {
        let path: String
        let temporary: Bool
        func cleanUp() { if temporary { try? FileManager.default.removeItem(atPath: path) } }
    }

    let flags: ConversionFlags

    func initramfs(for input: String, log: Bool) throws -> Prepared {
        if isInitramfs(input) { return Prepared(path: input, temporary: false) }
        let image = try ImageInput.open(input)
        let options = try flags.options()
        let identity: String
        if let digest = image.image.digest {
            identity = digest
        } else if !isDirectory(input) {
            identity = "file:" + (try fileDigest(input))
        } else {
            let path = NSTemporaryDirectory() + "stage0-run-\(getpid()).cpio"
            try InitramfsBuilder.build(image: image.image, options: options, output: path)
            return Prepared(path: path, temporary: true)
        }
        let key = SHA256.hex(of: Array(([identity, "\(options.compression)", try fileDigest(options.initBinary)]
            + (options.overrides.entrypoint.map { ["entrypoint"] + $0 } ?? ["-"])
            + (options.overrides.cmd.map { ["cmd"] + $0 } ?? ["-"])
            + options.overrides.env + [options.overrides.workdir ?? "-", options.overrides.user ?? "-"])
            .joined(separator: "\u{0}").utf8))
        let directory = cacheDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = "\(directory)/\(key).cpio"
        if FileManager.default.fileExists(atPath: path) {
            if log { FileHandle.standardError.write(Data("stage0: using cached \(path)\n".utf8)) }
            return Prepared(path: path, temporary: false)
        }
        try InitramfsBuilder.build(image: image.image, options: options, output: path)
        if log { FileHandle.standardError.write(Data("stage0: converted \(input) to \(path)\n".utf8)) }
        return Prepared(path: path, temporary: false)
    }

    private func cacheDirectory() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["STAGE0_CACHE"], !explicit.isEmpty { return explicit }
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        return base + "/stage0/initramfs"
    }

    /// A newc cpio, possibly gzip- or zstd-compressed.
    private func isInitramfs(_ path: String) -> Bool {
        guard !isDirectory(path), let head = try? peekDecompressed(path, count: 6) else { return false }
        return head == Array("070701".utf8)
    }

    private func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }
}
