#!/usr/bin/env python3
"""Build small, reproducible busybox initramfs images for stage0's boot tests.

    initramfs.py OUT --init FILE [--pad-mib N] [--busybox PATH]
    initramfs.py OUT --demo      [--pad-mib N] [--busybox PATH]

The archive is an uncompressed newc cpio ("070701"), the format Linux
unpacks into its rootfs.  It is uncompressed on purpose: the firmware moves
the bytes, so every byte of an N MiB archive crosses fw_cfg, and the kernel
needs no decompressor.  Output is byte-for-byte reproducible (sorted
entries, mtime 0, uid/gid 0, inode numbers in archive order), so a cached
image can be trusted and two builds can be compared with cmp.

Contents: /bin/busybox (a static binary, so nothing else is needed), applet
symlinks, empty /dev /proc /sys /tmp, a /dev/console character device (the
kernel opens it for init's stdin/stdout before devtmpfs is mounted), the
given /init, and optionally /pad.bin: N MiB of deterministic pseudo-random
(incompressible) bytes, to make the archive big.
"""

import argparse
import hashlib
import os
import random
import stat
import sys
import tempfile

NEWC_MAGIC = b"070701"
TRAILER = "TRAILER!!!"
MIB = 1 << 20

# Every /init built here prints this line once the pseudo-filesystems are
# mounted; the boot tests look for it to know userspace ran.
INIT_MARKER = "stage0-test: /init reached"

PAD_PATH = "pad.bin"
PAD_SEED = 0x57A6E0  # fixed, so the padding (and its hash) never changes

# Applets the test /init scripts use, plus a few handy for debugging by hand.
APPLETS = (
    "cat", "dmesg", "echo", "grep", "head", "insmod", "ls", "md5sum", "mkdir", "mount",
    "nproc", "poweroff", "reboot", "sh", "sleep", "stat", "tail", "uname",
    "wc",
)

DEMO_BANNER = "Hello from a container booted by stage0!"


def pad_chunks(mib):
    """Yield the padding file as mib chunks of 1 MiB.  random.Random is
    seeded and its randbytes runs in C (~200 MiB/s), so this is
    deterministic and fast, and never holds more than one chunk."""
    rng = random.Random(PAD_SEED)
    for _ in range(mib):
        yield rng.randbytes(MIB)


def pad_md5(mib):
    """The md5 of the padding file, for tests that check it arrived intact."""
    h = hashlib.md5()
    for chunk in pad_chunks(mib):
        h.update(chunk)
    return h.hexdigest()


def init_script(body):
    """Wrap shell commands in the standard test /init: mount the
    pseudo-filesystems, print INIT_MARKER, run body, then `reboot -f`, which
    with QEMU's -no-reboot makes QEMU exit with status 0.  The kernel starts
    init without PATH, hence the export."""
    return (
        "#!/bin/busybox sh\n"
        "export PATH=/bin\n"
        "mount -t proc proc /proc\n"
        "mount -t sysfs sysfs /sys\n"
        "mount -t devtmpfs devtmpfs /dev\n"
        f"echo '{INIT_MARKER}'\n"
        f"{body.rstrip()}\n"
        "reboot -f\n"
    )


def demo_init():
    """The /init of the demo image: a greeting banner and the kernel version."""
    return init_script(
        "echo\n"
        "echo '=========================================='\n"
        f"echo '  {DEMO_BANNER}'\n"
        'echo "  kernel $(uname -r), $(nproc) CPU(s)"\n'
        "echo '=========================================='\n"
        "echo\n"
    )


class _Entry:
    """One archive member; data is produced only when the archive is written."""

    def __init__(self, name, mode, size=0, chunks=None, rdev=(0, 0)):
        self.name, self.mode, self.size, self.rdev = name, mode, size, rdev
        self.chunks = chunks or (lambda: iter(()))


class NewcArchive:
    """Collect entries, then write them sorted as a newc cpio archive.

    Sorting by path puts each directory before its contents (a prefix sorts
    first), which the kernel's unpacker needs, and makes the output
    independent of the order entries were added in."""

    def __init__(self):
        self._entries = {}

    def _add(self, entry):
        if entry.name in self._entries:
            raise ValueError(f"duplicate archive entry {entry.name!r}")
        self._entries[entry.name] = entry

    def add_dir(self, name, perm=0o755):
        self._add(_Entry(name, stat.S_IFDIR | perm))

    def add_bytes(self, name, data, perm=0o644):
        self._add(_Entry(name, stat.S_IFREG | perm, len(data), lambda: iter((data,))))

    def add_host_file(self, name, path, perm=0o755):
        """Add a host file, read in chunks only while writing; its host
        mode, owner and date are ignored so the archive stays reproducible."""
        def chunks():
            with open(path, "rb") as f:
                while block := f.read(MIB):
                    yield block
        self._add(_Entry(name, stat.S_IFREG | perm, os.path.getsize(path), chunks))

    def add_stream(self, name, size, chunks, perm=0o644):
        """Add a file of known size whose data chunks() yields while writing."""
        self._add(_Entry(name, stat.S_IFREG | perm, size, chunks))

    def add_symlink(self, name, target):
        data = target.encode()
        self._add(_Entry(name, stat.S_IFLNK | 0o777, len(data), lambda: iter((data,))))

    def add_chardev(self, name, major, minor, perm=0o600):
        self._add(_Entry(name, stat.S_IFCHR | perm, rdev=(major, minor)))

    @staticmethod
    def _header(ino, entry, nlink):
        name = entry.name.encode() + b"\0"
        fields = (ino, entry.mode, 0, 0, nlink, 0, entry.size,
                  0, 0, entry.rdev[0], entry.rdev[1], len(name), 0)
        head = NEWC_MAGIC + b"".join(b"%08X" % v for v in fields) + name
        return head + _pad4(len(head))

    def write(self, f):
        """Write the archive to the binary file f."""
        entries = [self._entries[k] for k in sorted(self._entries)]
        for ino, entry in enumerate(entries, start=1):
            nlink = 2 if stat.S_ISDIR(entry.mode) else 1
            f.write(self._header(ino, entry, nlink))
            written = 0
            for chunk in entry.chunks():
                f.write(chunk)
                written += len(chunk)
            if written != entry.size:
                raise ValueError(f"{entry.name}: wrote {written} bytes, header says {entry.size}")
            f.write(_pad4(written))
        f.write(self._header(0, _Entry(TRAILER, 0), 1))


def _pad4(n):
    return b"\0" * (-n % 4)


def build(out_path, init_text, pad_mib=0, busybox="/bin/busybox", extra_files=()):
    """Write an initramfs with the given /init text to out_path, atomically:
    the boot tests cache images by path, so a half-written file must never
    appear under the final name."""
    if not os.path.isfile(busybox):
        raise FileNotFoundError(f"{busybox} not found: apt-get install busybox-static")
    arc = NewcArchive()
    for d in ("bin", "dev", "proc", "sys", "tmp"):
        arc.add_dir(d)
    arc.add_host_file("bin/busybox", busybox)
    for applet in APPLETS:
        arc.add_symlink(f"bin/{applet}", "busybox")
    arc.add_chardev("dev/console", 5, 1)
    arc.add_bytes("init", init_text.encode(), perm=0o755)
    if pad_mib:
        arc.add_stream(PAD_PATH, pad_mib * MIB, lambda: pad_chunks(pad_mib))
    # (name in the image, host path): kernel modules and the like, under dirs made here.
    made = set()
    for name, path in extra_files:
        parts = name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            directory = "/".join(parts[:depth])
            if directory not in made and directory not in ("bin", "dev", "proc", "sys", "tmp"):
                arc.add_dir(directory)
                made.add(directory)
        arc.add_host_file(name, path, perm=0o644)

    out_dir = os.path.dirname(os.path.abspath(out_path))
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".initramfs.")
    try:
        with os.fdopen(fd, "wb") as f:
            arc.write(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None):
    p = argparse.ArgumentParser(description="Build a reproducible busybox initramfs (newc cpio).")
    p.add_argument("out", metavar="OUT", help="archive to write")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--init", metavar="FILE", help="use FILE as /init (a script starting with #!)")
    which.add_argument("--demo", action="store_true", help="the demo /init: a greeting banner, then reboot -f")
    p.add_argument("--pad-mib", type=int, default=0, metavar="N",
                   help=f"add /{PAD_PATH}: N MiB of incompressible pseudo-random data")
    p.add_argument("--busybox", default="/bin/busybox", help="static busybox binary (default: %(default)s)")
    args = p.parse_args(argv)
    if args.pad_mib < 0:
        p.error("--pad-mib must be >= 0")

    try:
        if args.demo:
            init_text = demo_init()
        else:
            with open(args.init) as f:
                init_text = f.read()
            if not init_text.startswith("#!"):
                print(f"initramfs: warning: {args.init} has no #! line; the kernel cannot run it as /init",
                      file=sys.stderr)
        build(args.out, init_text, args.pad_mib, args.busybox)
    except OSError as e:
        print(f"initramfs: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
