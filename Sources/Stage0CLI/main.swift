// `stage0`: the host tool for running containers on stage0.
//   stage0 initramfs IMAGE -o OUT [...]   image -> initramfs
//   stage0 run IMAGE|INITRAMFS [...]      boot it in QEMU, exit with the container's status
import ContainerImage
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let usage = """
    usage: stage0 initramfs IMAGE -o OUT [--compress none|gzip|zstd] [--entrypoint E] [--cmd C]
                            [--env K=V]... [--workdir D] [--user U] [--init FILE]
           stage0 run IMAGE|INITRAMFS [--kernel FILE] [--firmware FILE] [--memory SIZE] [--cpus N]
                      [--timeout S] [--accel auto|kvm|tcg] [--verbose] [conversion flags] [-- ARGS...]
    IMAGE: a docker-archive or OCI archive tar, an OCI layout directory, a root filesystem
    tar or directory, or an image name that a local podman or docker can save.
    --entrypoint/--cmd take a JSON array ('["/bin/sh","-c","echo hi"]') or words split on spaces.
    """

do {
    switch arguments.first {
    case "initramfs":
        try InitramfsCommand(arguments: Array(arguments.dropFirst())).run()
    case "run":
        let status = try RunCommand(arguments: Array(arguments.dropFirst())).run()
        exit(status)
    case "-h", "--help", "help":
        print(usage)
    default:
        FileHandle.standardError.write(Data((usage + "\n").utf8))
        exit(2)
    }
} catch let error as ContainerImageError {
    FileHandle.standardError.write(Data("stage0: error: \(error)\n".utf8))
    // 125, as `docker run` reports its own failures, so they cannot be
    // mistaken for the container's status.
    exit(arguments.first == "run" ? 125 : 1)
} catch {
    FileHandle.standardError.write(Data("stage0: error: \(error)\n".utf8))
    exit(arguments.first == "run" ? 125 : 1)
}
