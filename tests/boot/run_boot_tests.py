#!/usr/bin/env python3
"""Boot stage0 in QEMU microvm with a real Linux kernel and check each boot.

    run_boot_tests.py --firmware build/stage0.bin --kernel build/vmlinux
                      [--work build/boot-tests] [-k NAME]... [--timeout S] [--list]

Every case starts from the seed's QEMU command line (qemu_command) and
changes only what it tests.  The serial output of each case goes to
WORK/<case>.log and the exact command to WORK/<case>.cmd, so a failure can
be rerun by hand.  Cases run one after another: TCG needs a whole core and
the machines have two.

The firmware's log contract, which the checks rely on: firmware lines start
with "stage0: ", errors are "stage0: error: <what failed>: <hint>", the
last line before the hand-off starts with "stage0: jumping to kernel", and on
an error the firmware writes to isa-debug-exit, so QEMU exits with status 3.
"""

import argparse
import dataclasses
import glob
import hashlib
import os
import shlex
import shutil
import subprocess
import struct
import sys
import time
from typing import Callable, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import initramfs  # noqa: E402  (sibling module, found through the path above)

QEMU = "qemu-system-x86_64"
SEED_CMDLINE = "console=ttyS0 quiet"
JUMP_LINE = "stage0: jumping to kernel"
ERROR_LINE = "stage0: error:"
FIRMWARE_ERROR_STATUS = 3  # isa-debug-exit turns the firmware's 1 into (1 << 1) | 1
LOG_TAIL_LINES = 25
# QEMU prints this and then keeps the VM paused forever, so waiting for the
# timeout would only waste two minutes.
KVM_INTERNAL_ERROR = "KVM internal error"

CMDLINE_PROBE = "console=ttyS0 quiet stage0.marker=abc-123_XYZ foo=bar,baz"
CMDLINE_BEGIN, CMDLINE_END = "stage0-test: cmdline-begin", "stage0-test: cmdline-end"
PAD_MIB = 200
MEMINFO = "grep MemTotal /proc/meminfo"


def qemu_arg(value):
    """Escape a value for QEMU's "a=b,c=d" option syntax, where a literal
    comma is written twice.  Without this the cmdline probe's "foo=bar,baz"
    would reach QEMU as an unknown option "baz"."""
    return value.replace(",", ",,")


def qemu_command(firmware, kernel, initrd, cmdline, memory="1G", accel="tcg",
                 machine_options="", extra_args=(), interface="seed"):
    """The seed's command line; a None kernel or initrd leaves that fw_cfg
    file out.  isa-debug-exit is always present so that a firmware error
    ends QEMU with status 3 instead of hanging until the timeout."""
    cmd = [QEMU, "-machine", f"microvm,accel={accel}{machine_options}", "-m", memory,
           "-nographic", "-nodefaults", "-no-reboot", "-serial", "stdio",
           "-bios", firmware,
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    if interface == "standard":
        # QEMU's own -kernel/-initrd/-append, served through legacy fw_cfg items.
        cmd += ["-kernel", kernel] + (["-initrd", initrd] if initrd else []) + ["-append", cmdline]
        return cmd + list(extra_args)
    if kernel is not None:
        cmd += ["-fw_cfg", f"name=opt/stage0/elf_kernel,file={qemu_arg(kernel)}"]
    if initrd is not None:
        cmd += ["-fw_cfg", f"name=opt/stage0/initramfs,file={qemu_arg(initrd)}"]
    if cmdline is not None:
        cmd += ["-fw_cfg", f"name=opt/stage0/cmdline,string={qemu_arg(cmdline)}"]
    return cmd + list(extra_args)


# --- Checks: each takes the serial log as text and returns None or why not.

def has_line(prefix, containing=""):
    def check(log):
        if any(l.startswith(prefix) and containing in l for l in log.splitlines()):
            return None
        extra = f" containing {containing!r}" if containing else ""
        return f"log has no line starting with {prefix!r}{extra}"
    return check


def contains(text):
    return lambda log: None if text in log else f"log lacks {text!r}"


def lacks(text):
    return lambda log: f"log unexpectedly contains {text!r}" if text in log else None


def between(begin, end, expected):
    """What /init printed between two marker lines must contain expected."""
    def check(log):
        start = log.find(begin)
        stop = log.find(end, start + 1)
        if start < 0 or stop < 0:
            return f"log lacks the {begin!r} ... {end!r} block"
        got = log[start + len(begin):stop].strip()
        return None if expected in got else f"expected {expected!r} between markers, got {got!r}"
    return check


def memtotal_between(low_kib, high_kib, why):
    """MemTotal above low_kib and at most high_kib: the kernel got that RAM and no more."""
    def check(log):
        for line in log.splitlines():
            if line.startswith("MemTotal:"):
                got = int(line.split()[1])
                if low_kib < got <= high_kib:
                    return None
                return f"MemTotal {got} kB, expected in ({low_kib}, {high_kib}] kB ({why})"
        return "log has no MemTotal line from /init"
    return check


def e820_entries(*entries):
    """etc/e820's layout: {le64 address, le64 size, le32 type} per entry."""
    return b"".join(struct.pack("<QQI", start, size, kind) for start, size, kind in entries)


GIB = 1 << 30
E820_RAM, E820_RESERVED = 1, 2
DOUBLE_E820 = "opt/stage0-test/e820"


def memtotal_above(kib, why):
    """The MemTotal /init printed must exceed kib: the kernel got the RAM."""
    def check(log):
        for line in log.splitlines():
            if line.startswith("MemTotal:"):
                got = int(line.split()[1])
                return None if got > kib else f"MemTotal {got} kB, expected > {kib} kB ({why})"
        return "log has no MemTotal line from /init"
    return check


def pad_md5_printed():
    """The md5 /init printed must match the padding we generated.  Hashing
    200 MiB takes a moment, so it is done only when this case runs."""
    def check(log):
        return contains(f"pad-md5={initramfs.pad_md5(PAD_MIB)}")(log)
    return check


def booted(*extra):
    """Checks for a case that reaches /init: the firmware handed off without
    an error and userspace ran."""
    return (has_line(JUMP_LINE), lacks(ERROR_LINE), contains(initramfs.INIT_MARKER)) + extra


def kvm_unusable():
    """Why the KVM smoke run cannot happen on this machine, or None."""
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError as e:
        return f"cannot open /dev/kvm read-write: {e.strerror}"
    return None


# --- Cases

@dataclasses.dataclass
class Case:
    name: str
    checks: tuple
    init_body: Optional[str] = ""   # shell run by /init; None: no initramfs at all
    pad_mib: int = 0
    cmdline: str = SEED_CMDLINE
    memory: str = "1G"
    with_kernel: bool = True
    accel: str = "tcg"
    exit_status: Optional[int] = 0  # None: QEMU is killed once stop_at is logged
    stop_at: Optional[str] = None
    skip_reason: Callable[[], Optional[str]] = lambda: None
    machine_options: str = ""        # appended to "-machine microvm,accel=..."
    extra_args: tuple = ()           # more QEMU arguments
    kernel_variant: Optional[Callable[[str, str], str]] = None  # (vmlinux, work dir) -> kernel file
    interface: str = "seed"          # "seed": opt/stage0/* files; "standard": -kernel/-initrd/-append
    also_kernel_option: bool = False  # add -kernel with the bzImage on top of the seed's files
    extra_files: Callable[[], tuple] = lambda: ()   # more files for the initramfs
    with_disk: bool = False          # attach a virtio-blk disk holding DISK_MARKER
    with_cmdline: bool = True        # False: no opt/stage0/cmdline at all
    empty_initramfs: bool = False    # pass a zero-length opt/stage0/initramfs
    # The test double (build/stage0-test-double.bin) reads its memory map
    # from opt/stage0-test/e820: these bytes, or no such file (None); with
    # opt/stage0-test/fault ("ud" or "pf") it faults on purpose.
    test_double: bool = False
    e820: Optional[bytes] = None
    fault: Optional[str] = None


def truncated_kernel(vmlinux, work):
    """The real vmlinux cut in the middle of its first segment."""
    path = os.path.join(work, "vmlinux-truncated")
    if not os.path.exists(path):
        with open(vmlinux, "rb") as src, open(path, "wb") as dst:
            dst.write(src.read(16 << 20))
    return path


def patched_kernel(name, patch, keep_bytes=None):
    """A kernel variant: the real vmlinux (or its first keep_bytes) with
    patch(bytearray of the first 4 KiB) applied to its headers."""
    def make(vmlinux, work):
        path = os.path.join(work, f"vmlinux-{name}")
        if not os.path.exists(path):
            with open(vmlinux, "rb") as src:
                head = bytearray(src.read(4096))
                patch(head)
                with open(path + ".tmp", "wb") as dst:
                    dst.write(head[:keep_bytes] if keep_bytes is not None and keep_bytes < 4096 else head)
                    if keep_bytes is None or keep_bytes > 4096:
                        remaining = None if keep_bytes is None else keep_bytes - 4096
                        shutil.copyfileobj(src if remaining is None else _Limited(src, remaining), dst, 1 << 20)
            os.replace(path + ".tmp", path)
        return path
    return make


class _Limited:
    def __init__(self, f, n):
        self.f, self.n = f, n

    def read(self, size=-1):
        size = self.n if size < 0 else min(size, self.n)
        data = self.f.read(size)
        self.n -= len(data)
        return data


def program_header(head, index):
    """Offset of program header `index` in an ELF64 header buffer."""
    phoff = int.from_bytes(head[32:40], "little")
    return phoff + 56 * index


def set_u64(head, offset, value):
    head[offset:offset + 8] = value.to_bytes(8, "little")


def set_paddr(index, value):
    return lambda head: set_u64(head, program_header(head, index) + 24, value)


def kernel_entry_ud2(vmlinux, work):
    """The real vmlinux with ud2 (0f 0b) at its entry point: the kernel
    faults before it has an IDT of its own."""
    path = os.path.join(work, "vmlinux-entry-ud2")
    if not os.path.exists(path):
        with open(vmlinux, "rb") as src:
            data = bytearray(src.read())
        entry, = struct.unpack_from("<Q", data, 24)                  # e_entry
        phnum, = struct.unpack_from("<H", data, 56)                  # e_phnum
        for index in range(phnum):
            kind, _, offset, _, paddr, filesz = struct.unpack_from("<IIQQQQ", data, program_header(data, index))
            if kind == 1 and paddr <= entry < paddr + filesz:        # the PT_LOAD holding it
                data[offset + entry - paddr:offset + entry - paddr + 2] = b"\x0f\x0b"
                break
        else:
            raise SystemExit(f"boot: error: {vmlinux}: no PT_LOAD segment holds e_entry {entry:#x}")
        with open(path, "wb") as dst:
            dst.write(data)
    return path


def random_kernel(vmlinux, work):
    """64 KiB that are neither ELF nor bzImage."""
    path = os.path.join(work, "not-a-kernel")
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(hashlib.sha256(b"not a kernel").digest() * 2048)
    return path


def bzimage_kernel(vmlinux, work):
    """The distribution's compressed kernel (/boot/vmlinuz-*)."""
    return subprocess.run(["scripts/find-kernel.sh"], check=True, capture_output=True,
                          text=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                              os.path.abspath(__file__))))).stdout.strip()


PAD_INIT = (f'echo "pad-size=$(stat -c %s /{initramfs.PAD_PATH})"\n'
            f'echo "pad-md5=$(md5sum < /{initramfs.PAD_PATH})"')
CPUS_INIT = 'echo "cpus=$(nproc)"'
EMPTY_CMDLINE_MARKER = "stage0-test: ttyS0 cmdline:"
EMPTY_CMDLINE_INIT = f'echo "{EMPTY_CMDLINE_MARKER} $(cat /proc/cmdline)" > /dev/ttyS0'

# virtio-blk: the modules of the same Debian kernel, loaded in dependency
# order; the devices exist only in the DSDT, so this proves the ACPI tables.
DISK_MARKER = "stage0-virtio-blk-marker-7f3a"
VIRTIO_MODULES = ("virtio_ring.ko", "virtio.ko", "virtio_mmio.ko", "virtio_blk.ko")  # modules.dep order
VIRTIO_INIT = ("for m in " + " ".join(VIRTIO_MODULES) + "; do insmod /lib/modules/$m; done\n"
               "for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 1; done\n"
               "echo \"disk=$(head -c " + str(len(DISK_MARKER)) + " /dev/vda)\"")


def virtio_module_files():
    """(name in the image, host path) of the virtio modules of the newest
    installed kernel, or () when they are missing."""
    kernels = sorted(glob.glob("/lib/modules/*-amd64"))
    if not kernels:
        return ()
    found = []
    for module in VIRTIO_MODULES:
        hits = glob.glob(os.path.join(kernels[-1], "kernel", "drivers", "**", module), recursive=True)
        if not hits:
            return ()
        found.append((f"lib/modules/{module}", hits[0]))
    return tuple(found)


def disk_image(work):
    path = os.path.join(work, "virtio-disk.img")
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(DISK_MARKER.encode().ljust(1 << 20, b"\0"))
    return path


CASES = [
    Case("seed", booted()),
    # The kernel keeps 5-40% of RAM for itself, so MemTotal only has to be
    # above half of -m; with 4G it must be above the 3 GiB below the hole,
    # which proves the range at 4 GiB (etc/e820's second entry) arrived.
    Case("mem-512M", booted(memtotal_above(256 << 10, "half of -m 512M")),
         memory="512M", init_body=MEMINFO),
    Case("mem-4G", booted(memtotal_above(3 << 20, "RAM above 4 GiB missing?")),
         memory="4G", init_body=MEMINFO),
    Case("mem-128M", booted(memtotal_above(64 << 10, "half of -m 128M")),
         memory="128M", init_body=MEMINFO),
    # Linux unpacks the initramfs into a tmpfs capped at half of RAM, hence
    # -m 2G for 200 MiB.  /init reports the size (stat is instant; wc -c
    # would read it all again) and the md5, which proves every byte made it
    # through fw_cfg, not just the cpio headers the unpacker needs.
    Case("initramfs-200M",
         booted(contains(f"pad-size={PAD_MIB * initramfs.MIB}"), pad_md5_printed()),
         memory="2G", pad_mib=PAD_MIB, init_body=PAD_INIT),
    Case("mem-8G", booted(memtotal_above(7 << 20, "RAM above 4 GiB missing?")),
         memory="8G", init_body=MEMINFO),
    # Port I/O instead of DMA: the fallback path loads the same bytes.
    Case("no-dma", booted(has_line("stage0: fw_cfg: port I/O")),
         extra_args=("-global", "fw_cfg_io.dma_enabled=off")),
    # ACPI tables from etc/table-loader: Linux starts every vCPU from the MADT.
    Case("smp-4-acpi", booted(has_line("stage0: ACPI:", containing="RSDP at"), contains("cpus=4"),
                              contains("found SMP MP-table at [mem 0x0009fc00-0x0009fc0f]"),
                              contains("ACPI: Using ACPI (MADT) for SMP configuration information")),
         cmdline="console=ttyS0",
         extra_args=("-smp", "4"), init_body=CPUS_INIT),
    # No ACPI: Linux boots without tables (one CPU: there is no MP table).
    Case("acpi-off", booted(has_line("stage0: ACPI: none"), has_line("stage0: command line: appended tsc_early_khz=")),
         machine_options=",acpi=off"),
    # Without ACPI the MP table is how Linux learns of the other CPUs and
    # of the I/O APIC (the PIT's IRQ 0 on pin 2); with ACPI it still finds
    # the table at once instead of scanning the F segment.
    Case("acpi-off-smp-4", booted(has_line("stage0: MP table at 0x9fc00 (4 CPUs)"),
                                  contains("found SMP MP-table at [mem 0x0009fc00-0x0009fc0f]"),
                                  contains("MPTABLE: OEM ID: STAGE0"), contains("..TIMER: vector=0x30 apic1=0 pin1=2"),
                                  contains("cpus=4")),
         machine_options=",acpi=off", extra_args=("-smp", "4"), cmdline="console=ttyS0 apic=verbose",
         init_body=CPUS_INIT),
    # Bad inputs: one error line naming the problem, and QEMU exits.
    Case("initramfs-too-big",
         (has_line(ERROR_LINE, containing="does not fit"), has_line(ERROR_LINE, containing="-m "), lacks(JUMP_LINE)),
         memory="192M", pad_mib=PAD_MIB, init_body=PAD_INIT, exit_status=FIRMWARE_ERROR_STATUS),
    Case("truncated-kernel",
         (has_line(ERROR_LINE, containing="truncated"), lacks(JUMP_LINE)),
         kernel_variant=truncated_kernel, exit_status=FIRMWARE_ERROR_STATUS),
    Case("not-a-kernel",
         (has_line(ERROR_LINE, containing="neither an ELF vmlinux nor a bzImage"), lacks(JUMP_LINE)),
         kernel_variant=random_kernel, exit_status=FIRMWARE_ERROR_STATUS),
    # The bad-input matrix: each ends QEMU at once with one specific error.
    Case("kernel-empty", (has_line(ERROR_LINE, containing="opt/stage0/elf_kernel is empty"), lacks(JUMP_LINE)),
         kernel_variant=patched_kernel("empty", lambda h: None, keep_bytes=0), exit_status=FIRMWARE_ERROR_STATUS),
    Case("kernel-truncated-header", (has_line(ERROR_LINE, containing="too short for an ELF header"), lacks(JUMP_LINE)),
         kernel_variant=patched_kernel("40-bytes", lambda h: None, keep_bytes=40), exit_status=FIRMWARE_ERROR_STATUS),
    Case("kernel-elf32", (has_line(ERROR_LINE, containing="not a 64-bit ELF"), lacks(JUMP_LINE)),
         kernel_variant=patched_kernel("elf32", lambda h: h.__setitem__(4, 1)), exit_status=FIRMWARE_ERROR_STATUS),
    Case("kernel-wrong-machine", (has_line(ERROR_LINE, containing="not for x86_64 (e_machine 3"), lacks(JUMP_LINE)),
         kernel_variant=patched_kernel("i386", lambda h: h.__setitem__(slice(18, 20), b"\x03\x00")),
         exit_status=FIRMWARE_ERROR_STATUS),
    Case("kernel-segment-outside-ram", (has_line(ERROR_LINE, containing="is not inside usable RAM"), lacks(JUMP_LINE)),
         kernel_variant=patched_kernel("high-segment", set_paddr(3, 0x8000_0000)), exit_status=FIRMWARE_ERROR_STATUS),
    Case("kernel-segment-over-firmware", (has_line(ERROR_LINE, containing="overlaps the"), lacks(JUMP_LINE)),
         kernel_variant=patched_kernel("low-segment", set_paddr(2, 0x2_0000)), exit_status=FIRMWARE_ERROR_STATUS),
    Case("kernel-segments-overlap", (has_line(ERROR_LINE, containing="overlap at"), lacks(JUMP_LINE)),
         kernel_variant=patched_kernel("overlap", set_paddr(1, 0x100_0000)), exit_status=FIRMWARE_ERROR_STATUS),
    Case("kernel-entry-outside", (has_line(ERROR_LINE, containing="is not inside any loaded segment"), lacks(JUMP_LINE)),
         kernel_variant=patched_kernel("entry", lambda h: set_u64(h, 24, 0x50_0000)), exit_status=FIRMWARE_ERROR_STATUS),
    Case("memory-64M", (has_line(ERROR_LINE, containing="is not inside usable RAM"), lacks(JUMP_LINE)),
         memory="64M", exit_status=FIRMWARE_ERROR_STATUS),
    Case("cmdline-too-long", (has_line(ERROR_LINE, containing="longer than the kernel accepts (2047 bytes)"), lacks(JUMP_LINE)),
         cmdline="console=ttyS0 " + "x" * 3000, exit_status=FIRMWARE_ERROR_STATUS),
    # Odd but valid.
    # No command line at all: the kernel gets only the tsc_early_khz stage0
    # adds, so it has no serial console; /init writes to ttyS0 itself.
    Case("empty-cmdline", (has_line(JUMP_LINE), lacks(ERROR_LINE), has_line("stage0: command line: empty"),
                           contains(f"{EMPTY_CMDLINE_MARKER} tsc_early_khz=")),
         with_cmdline=False, init_body=EMPTY_CMDLINE_INIT),
    # A zero-length initramfs is no initramfs: the kernel boots and stops
    # for want of a root filesystem (panic=-1 then reboots: QEMU exits).
    Case("empty-initramfs", (has_line(JUMP_LINE), lacks(ERROR_LINE), has_line("stage0: initramfs: none", containing="empty file"),
                             contains("VFS: Unable to mount root fs"), lacks("Initramfs unpacking failed")),
         init_body=None, empty_initramfs=True, cmdline="console=ttyS0 panic=-1"),
    Case("smp-1", booted(contains("cpus=1")), extra_args=("-smp", "1"), init_body=CPUS_INIT),
    Case("smp-8", booted(contains("cpus=8")), extra_args=("-smp", "8"), init_body=CPUS_INIT),
    # Every kernel format through every interface.
    Case("bzimage-as-elf-kernel", booted(has_line("stage0: kernel: bzImage from opt/stage0/elf_kernel")),
         kernel_variant=bzimage_kernel),
    Case("bzimage-kernel", booted(has_line("stage0: kernel: bzImage from -kernel"),
                                  has_line("stage0: initramfs", containing="-initrd"),
                                  has_line("stage0: command line from CMDLINE_DATA")),
         kernel_variant=bzimage_kernel, interface="standard"),
    Case("vmlinux-kernel", booted(has_line("stage0: kernel: ELF from -kernel")),
         interface="standard"),
    Case("virtio-blk", booted(contains(f"disk={DISK_MARKER}")), init_body=VIRTIO_INIT,
         extra_files=virtio_module_files, with_disk=True,
         skip_reason=lambda: None if virtio_module_files() else "no virtio modules in /lib/modules/*-amd64"),
    # ACPI power-off through the GED: QEMU exits by itself, not through a reset.
    Case("poweroff-acpi", booted(contains("reboot: Power down"), lacks("jumped to the reset vector")),
         init_body="poweroff -f"),
    Case("bzimage-kernel-128M", booted(memtotal_above(64 << 10, "half of -m 128M")),
         kernel_variant=bzimage_kernel, interface="standard", memory="128M", init_body=MEMINFO),
    Case("bzimage-kernel-8G", booted(memtotal_above(7 << 20, "RAM above 4 GiB missing?")),
         kernel_variant=bzimage_kernel, interface="standard", memory="8G", init_body=MEMINFO),
    # Issue 4's "done when": -kernel vmlinuz -initrd -append with -smp 4 gives
    # 4 CPUs, ACPI tables and a readable virtio disk, all in one boot.
    Case("standard-smp-4-virtio", booted(contains("cpus=4"), contains(f"disk={DISK_MARKER}"),
                                         has_line("stage0: ACPI:", containing="RSDP at")),
         kernel_variant=bzimage_kernel, interface="standard", extra_args=("-smp", "4"),
         init_body=CPUS_INIT + "\n" + VIRTIO_INIT, extra_files=virtio_module_files, with_disk=True,
         skip_reason=lambda: None if virtio_module_files() else "no virtio modules in /lib/modules/*-amd64"),
    # Both interfaces at once: the seed's files win and the log says so.
    Case("seed-wins-over-kernel", booted(has_line("stage0: both opt/stage0/elf_kernel and -kernel given"),
                                         has_line("stage0: kernel: ELF vmlinux from opt/stage0/elf_kernel")),
         also_kernel_option=True),
    Case("cmdline-intact", booted(between(CMDLINE_BEGIN, CMDLINE_END, CMDLINE_PROBE)),
         cmdline=CMDLINE_PROBE,
         init_body=f"echo '{CMDLINE_BEGIN}'\ncat /proc/cmdline\necho '{CMDLINE_END}'"),
    Case("missing-kernel",
         (has_line(ERROR_LINE, containing="opt/stage0/elf_kernel"), lacks(JUMP_LINE)),
         with_kernel=False, exit_status=FIRMWARE_ERROR_STATUS),
    # Without an initramfs the kernel panics for lack of a root fs; panic=-1
    # reboots at once and -no-reboot turns that into exit 0.  The panic text
    # tells a real kernel run from a triple fault, which also exits with 0.
    Case("no-initramfs", (has_line(JUMP_LINE), lacks(ERROR_LINE), contains("Kernel panic")),
         init_body=None, cmdline="console=ttyS0 panic=-1"),
    # Memory maps QEMU never serves, through the e820 double (QEMU always has
    # etc/e820, so the double reads its map from opt/stage0-test/e820).
    # Without a map the firmware uses the RAM size QEMU keeps in CMOS; at 8G
    # that includes registers 0x5b-0x5d, the RAM above 4 GiB.
    Case("e820-missing-cmos", booted(has_line("stage0: no opt/stage0-test/e820 in fw_cfg: using the RAM size in CMOS"),
                                     memtotal_above(512 << 10, "half of -m 1G")),
         test_double=True, init_body=MEMINFO),
    Case("e820-missing-cmos-8G", booted(has_line("stage0: no opt/stage0-test/e820"),
                                        memtotal_above(7 << 20, "CMOS 0x5b-0x5d: RAM above 4 GiB missing?")),
         test_double=True, memory="8G", init_body=MEMINFO),
    Case("e820-malformed-size", (has_line(ERROR_LINE, containing="is 25 bytes, not a whole number of 20-byte entries"),
                                 lacks(JUMP_LINE)),
         test_double=True, e820=b"x" * 25, exit_status=FIRMWARE_ERROR_STATUS),
    Case("e820-empty", (has_line(ERROR_LINE, containing="the memory map holds no usable RAM"), lacks(JUMP_LINE)),
         test_double=True, e820=b"", exit_status=FIRMWARE_ERROR_STATUS),
    Case("e820-no-ram", (has_line(ERROR_LINE, containing="the memory map holds no usable RAM"), lacks(JUMP_LINE)),
         test_double=True, e820=e820_entries((0, GIB, E820_RESERVED)), exit_status=FIRMWARE_ERROR_STATUS),
    Case("e820-too-many-entries", (has_line(ERROR_LINE, containing="the memory map has 300 entries, more than the 128"),
                                   lacks(JUMP_LINE)),
         test_double=True, e820=e820_entries(*[(i * 2 << 20, 1 << 20, E820_RAM) for i in range(300)]),
         exit_status=FIRMWARE_ERROR_STATUS),
    # Out of order and overlapping: reserved wins where it overlaps RAM
    # (as Linux's e820__update_table), and the boot goes on.
    Case("e820-unsorted-overlapping", booted(has_line("stage0: e820 [0x30000000-0x38000000) reserved"),
                                             memtotal_between(512 << 10, 896 << 10, "1 GiB minus 128 MiB reserved")),
         test_double=True, init_body=MEMINFO,
         e820=e820_entries((0x20000000, GIB - 0x20000000, E820_RAM), (0x30000000, 0x8000000, E820_RESERVED),
                           (0, 0x24000000, E820_RAM))),
    # RAM above 4 GiB only partly in the map: with -m 6G QEMU has 3 GiB
    # below 4 GiB and 3 GiB above; the map offers 1 GiB of those 3 and
    # reserves the rest. Linux must get exactly that: more than 3.5 GiB in
    # all, at most 4 GiB.
    Case("e820-ram-above-4G-partly", booted(has_line("stage0: e820 [0x100000000-0x140000000) RAM"),
                                            has_line("stage0: e820 [0x140000000-0x1c0000000) reserved"),
                                            memtotal_between(3584 << 10, 4 << 20, "1 of the 3 GiB above 4 GiB")),
         test_double=True, memory="6G", init_body=MEMINFO,
         e820=e820_entries((0, 3 * GIB, E820_RAM), (4 * GIB, GIB, E820_RAM), (5 * GIB, 2 * GIB, E820_RESERVED))),
    # A CPU exception in the firmware (a failed Swift run-time check is ud2;
    # a read of memory the page tables do not map is #PF) stops the VM with
    # a line naming it, instead of a silent triple fault.
    Case("firmware-runtime-check-fails", (has_line(ERROR_LINE, containing="CPU exception 6 (#UD) at 0x"),
                                          has_line(ERROR_LINE, containing="a run-time check failed"), lacks(JUMP_LINE)),
         test_double=True, fault="ud", exit_status=FIRMWARE_ERROR_STATUS),
    Case("firmware-page-fault", (has_line(ERROR_LINE, containing="CPU exception 14 (#PF) at 0x"),
                                 has_line(ERROR_LINE, containing="address 0x1000000000"),
                                 has_line(ERROR_LINE, containing="a stage0 bug"), lacks(JUMP_LINE)),
         test_double=True, fault="pf", exit_status=FIRMWARE_ERROR_STATUS),
    # The kernel faulting right after the jump, before its own IDT: stage0's
    # handlers are still there and say it was the kernel.
    Case("kernel-faults-before-its-handlers",
         (has_line(ERROR_LINE, containing="CPU exception 6 (#UD) at 0x1000000: in the kernel, before its own handlers"),
          has_line(JUMP_LINE)),
         kernel_variant=kernel_entry_ud2, exit_status=FIRMWARE_ERROR_STATUS),
    # KVM runs firmware code here but Linux hangs after the jump (see
    # platform-facts), so this run stops at the hand-off.
    Case("kvm-smoke", (has_line(JUMP_LINE), lacks(ERROR_LINE)),
         accel="kvm", exit_status=None, stop_at=JUMP_LINE, skip_reason=kvm_unusable),
]


# --- Running

@dataclasses.dataclass
class Outcome:
    verdict: str  # PASS, FAIL or SKIP
    reason: str = ""
    seconds: float = 0.0
    log_path: Optional[str] = None


def init_text(case):
    return initramfs.init_script(case.init_body)


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").digest()


def image_key(case, busybox):
    """Cache key of a case's initramfs: everything its bytes depend on."""
    h = hashlib.sha256()
    for digest in (file_digest(initramfs.__file__), file_digest(busybox),
                   hashlib.sha256(init_text(case).encode()).digest(),
                   hashlib.sha256(str(case.pad_mib).encode()).digest(),
                   *(file_digest(path) for _, path in case.extra_files())):
        h.update(digest)
    return h.hexdigest()[:16]


def describe_status(status):
    if status == FIRMWARE_ERROR_STATUS:
        return f"{status} (the firmware reported an error through isa-debug-exit)"
    if status < 0:
        return f"{status} (killed by signal {-status})"
    if status & 1 and status > 1:
        return f"{status} (isa-debug-exit write of {status >> 1})"
    return str(status)


def log_tail(text, path, seconds):
    lines = text.splitlines()[-LOG_TAIL_LINES:]
    head = f"  --- last {len(lines)} lines of {path} ({seconds:.1f}s) ---"
    return "\n".join([head] + [f"  | {l}" for l in lines])


class Runner:
    def __init__(self, firmware, kernel, work, timeout, busybox="/bin/busybox", test_double=None):
        self.firmware, self.kernel, self.work = firmware, kernel, work
        self.test_double = test_double
        self.timeout, self.busybox = timeout, busybox
        self._keys = {c.name: image_key(c, busybox) for c in CASES if c.init_body is not None}

    def prune_images(self):
        """Delete cached images no case uses any more (200 MiB each)."""
        wanted = {self._image_path(k) for k in self._keys.values()}
        for path in glob.glob(os.path.join(self.work, "initramfs-*.cpio")):
            if path not in wanted:
                os.unlink(path)

    def _image_path(self, key):
        return os.path.join(self.work, f"initramfs-{key}.cpio")

    def initramfs_for(self, case):
        """Build the case's initramfs unless an identical one is cached;
        cases with the same /init share one image."""
        path = self._image_path(self._keys[case.name])
        if not os.path.exists(path):
            initramfs.build(path, init_text(case), case.pad_mib, self.busybox, case.extra_files())
        return path

    def run(self, case):
        reason = case.skip_reason()
        if reason:
            return Outcome("SKIP", reason)
        initrd = None if case.init_body is None else self.initramfs_for(case)
        if case.empty_initramfs:
            initrd = os.path.join(self.work, "empty-initramfs")
            open(initrd, "wb").close()
        kernel = self.kernel
        if case.kernel_variant is not None:
            kernel = case.kernel_variant(self.kernel, self.work)
        firmware = self.firmware
        e820_args = ()
        if case.test_double:
            firmware = self.test_double
            if case.e820 is not None:
                e820_path = os.path.join(self.work, f"{case.name}.e820")
                with open(e820_path, "wb") as f:
                    f.write(case.e820)
                e820_args = ("-fw_cfg", f"name={DOUBLE_E820},file={qemu_arg(e820_path)}")
            if case.fault is not None:
                e820_args += ("-fw_cfg", f"name=opt/stage0-test/fault,string={case.fault}")
        cmd = qemu_command(firmware, kernel if case.with_kernel else None,
                           initrd, case.cmdline if case.with_cmdline else None, case.memory, case.accel,
                           case.machine_options,
                           case.extra_args + e820_args + (("-kernel", bzimage_kernel(self.kernel, self.work))
                                              if case.also_kernel_option else ())
                           + (("-drive", f"id=disk0,file={disk_image(self.work)},format=raw,if=none",
                               "-device", "virtio-blk-device,drive=disk0") if case.with_disk else ()),
                           case.interface)
        log_path = os.path.join(self.work, f"{case.name}.log")
        with open(os.path.join(self.work, f"{case.name}.cmd"), "w") as f:
            f.write(shlex.join(cmd) + "\n")

        start = time.monotonic()
        with open(log_path, "wb") as log:
            # QEMU's own complaints (stderr) go into the same log as the
            # serial output, in the order they happen.
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT)
            status, how = self._wait(proc, log_path, case.stop_at, start + self.timeout,
                                     watch_kvm=case.accel == "kvm")
        seconds = time.monotonic() - start
        text = read_log(log_path)

        def fail(why):
            return Outcome("FAIL", why, seconds, log_path)

        if how == "kvm-error":
            # The hypervisor gave up, not the firmware: on these machines
            # /dev/kvm is kvm-pvm, which emulates runs of guest instructions
            # in software and fails on SSE ones that Swift code uses.  KVM
            # is then unusable for this run; the reason says where it stopped.
            rip = next((l.split()[0] for l in text.splitlines() if l.startswith("RIP=")), "RIP unknown")
            detail = "emulation failure, " if "emulation failure" in text else ""
            return Outcome("SKIP", f"this host's KVM cannot run the firmware: {KVM_INTERNAL_ERROR} "
                                   f"({detail}{rip}); see {log_path}", seconds, log_path)
        if how == "timeout":
            waited = f"{case.stop_at!r} not logged" if case.stop_at else "QEMU still running"
            return fail(f"{waited} after {self.timeout:.0f}s (QEMU killed)")
        if case.stop_at is not None and how == "exited":
            kvm_error = [l for l in text.splitlines() if l.startswith(QEMU) and "kvm" in l.lower()]
            if case.accel == "kvm" and kvm_error:
                return Outcome("SKIP", f"QEMU cannot use KVM here: {kvm_error[0]}", seconds, log_path)
            return fail(f"QEMU exited with status {describe_status(status)} "
                        f"before {case.stop_at!r} appeared")
        if case.stop_at is None and status != case.exit_status:
            return fail(f"QEMU exited with status {describe_status(status)}, "
                        f"expected {case.exit_status}")
        for check in case.checks:
            why = check(text)
            if why:
                return fail(why)
        return Outcome("PASS", "", seconds, log_path)

    @staticmethod
    def _wait(proc, log_path, stop_at, deadline, watch_kvm=False):
        """Wait for QEMU to exit, for stop_at to show up in the log (then
        kill QEMU), for a KVM internal error or for the deadline (then kill
        it too).  Returns (exit status or None,
        "exited" | "stopped" | "kvm-error" | "timeout")."""
        while True:
            try:
                return proc.wait(timeout=0.2), "exited"
            except subprocess.TimeoutExpired:
                pass
            text = read_log(log_path) if stop_at is not None or watch_kvm else ""
            if stop_at is not None and stop_at in text:
                how = "stopped"
            elif watch_kvm and KVM_INTERNAL_ERROR in text:
                how = "kvm-error"
            elif time.monotonic() > deadline:
                how = "timeout"
            else:
                continue
            proc.kill()
            proc.wait()
            return None, how


def read_log(path):
    # Serial output ends lines with \r\n and may hold arbitrary bytes.
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")


def select(names):
    if not names:
        return CASES
    chosen = [c for c in CASES if any(n in c.name for n in names)]
    if not chosen:
        raise SystemExit(f"boot: error: -k {' '.join(names)} matches no case; "
                         f"cases: {', '.join(c.name for c in CASES)}")
    return chosen


def check_inputs(args):
    """Fail early, with the fix, on inputs that would make every case fail."""
    if shutil.which(QEMU) is None:
        return f"{QEMU} not found: apt-get install qemu-system-x86"
    if not os.path.isfile(args.firmware):
        return f"firmware {args.firmware} not found: build it first (make)"
    if not os.path.isfile(args.kernel):
        return (f"kernel {args.kernel} not found: "
                f"scripts/extract-vmlinux.py $(scripts/find-kernel.sh) {args.kernel}")
    with open(args.kernel, "rb") as f:
        if f.read(4) != b"\x7fELF":
            return (f"kernel {args.kernel} is not an ELF vmlinux (a bzImage?): "
                    f"extract one with scripts/extract-vmlinux.py")
    if not os.path.isfile(args.busybox):
        return f"{args.busybox} not found: apt-get install busybox-static"
    if any(c.test_double for c in select(args.names)) and not os.path.isfile(args.test_double):
        return (f"the test double {args.test_double} not found: "
                f"build it with make build/stage0-test-double.bin")
    return None


def main(argv=None):
    p = argparse.ArgumentParser(description="Boot stage0 in QEMU microvm and check each boot.")
    p.add_argument("--firmware", default="build/stage0.bin", help="default: %(default)s")
    p.add_argument("--kernel", default="build/vmlinux", help="ELF vmlinux (default: %(default)s)")
    p.add_argument("--work", default="build/boot-tests",
                   help="logs and cached initramfs images (default: %(default)s)")
    p.add_argument("-k", dest="names", action="append", default=[], metavar="NAME",
                   help="run only cases whose name contains NAME (repeatable)")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="seconds per case; TCG is slow (default: %(default)s)")
    p.add_argument("--busybox", default="/bin/busybox", help="default: %(default)s")
    p.add_argument("--test-double", default="build/stage0-test-double.bin",
                   help="the firmware built as the boot tests' double (opt/stage0-test/e820, "
                        "opt/stage0-test/fault) "
                        "(make build/stage0-test-double.bin; default: %(default)s)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    args = p.parse_args(argv)

    cases = select(args.names)
    if args.list:
        print("\n".join(c.name for c in cases))
        return 0
    problem = check_inputs(args)
    if problem:
        print(f"boot: error: {problem}", file=sys.stderr)
        return 2

    os.makedirs(args.work, exist_ok=True)
    runner = Runner(os.path.abspath(args.firmware), os.path.abspath(args.kernel),
                    os.path.abspath(args.work), args.timeout, args.busybox,
                    os.path.abspath(args.test_double))
    runner.prune_images()
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for case in cases:
        out = runner.run(case)
        counts[out.verdict] += 1
        if out.verdict == "PASS":
            print(f"PASS {case.name} ({out.seconds:.1f}s)", flush=True)
        elif out.verdict == "SKIP":
            print(f"SKIP {case.name}: {out.reason}", flush=True)
        else:
            print(f"FAIL {case.name}: {out.reason}", flush=True)
            print(log_tail(read_log(out.log_path), out.log_path, out.seconds), flush=True)
    print(f"boot: {counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
