import CInitSystem

// The filesystems a container expects, as Docker sets them up: proc, sysfs,
// devtmpfs (the VM's devices, in place of Docker's curated /dev), devpts,
// /dev/shm, and tmpfs on /tmp and /run. Missing mount points are created.
// A failure is reported and the boot continues: the command may not need it.

struct MountSpec {
    var source: String
    var target: String
    var type: String
    var flags: UInt
    var data: String
    var mountPointMode: mode_t
}

let containerMounts: [MountSpec] = [
    MountSpec(source: "proc", target: "/proc", type: "proc", flags: UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), data: "", mountPointMode: 0o555),
    MountSpec(source: "sysfs", target: "/sys", type: "sysfs", flags: UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), data: "", mountPointMode: 0o555),
    MountSpec(source: "devtmpfs", target: "/dev", type: "devtmpfs", flags: UInt(MS_NOSUID), data: "mode=0755", mountPointMode: 0o755),
    MountSpec(source: "devpts", target: "/dev/pts", type: "devpts", flags: UInt(MS_NOSUID | MS_NOEXEC),
              data: "newinstance,ptmxmode=0666,mode=0620,gid=5", mountPointMode: 0o755),
    MountSpec(source: "shm", target: "/dev/shm", type: "tmpfs", flags: UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), data: "mode=1777", mountPointMode: 0o1777),
    MountSpec(source: "tmpfs", target: "/tmp", type: "tmpfs", flags: UInt(MS_NOSUID | MS_NODEV), data: "mode=1777", mountPointMode: 0o1777),
    MountSpec(source: "tmpfs", target: "/run", type: "tmpfs", flags: UInt(MS_NOSUID | MS_NODEV), data: "mode=0755", mountPointMode: 0o755),
]

/// Links every Linux program expects in /dev, which devtmpfs lacks.
let deviceLinks: [(link: String, target: String)] = [
    ("/dev/fd", "/proc/self/fd"), ("/dev/stdin", "/proc/self/fd/0"), ("/dev/stdout", "/proc/self/fd/1"),
    ("/dev/stderr", "/proc/self/fd/2"), ("/dev/ptmx", "pts/ptmx"),
]

func mountContainerFilesystems() {
    for spec in containerMounts {
        let made = makeDirectories(spec.target, mode: spec.mountPointMode)
        if made != 0 {
            warn("cannot create mount point \(spec.target): \(errnoText(made))")
            continue
        }
        if mount(spec.source, spec.target, spec.type, spec.flags, spec.data) != 0 {
            warn("cannot mount \(spec.type) on \(spec.target): \(errnoText(init_errno()))")
        }
    }
    for (link, target) in deviceLinks {
        unlink(link)
        _ = symlink(target, link)
    }
}
