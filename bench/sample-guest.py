#!/usr/bin/env python3
"""Where the guest spends its time: samples the vCPU's RIP through QEMU's
monitor ("info registers" over QMP) as fast as the monitor answers, for the
first SECONDS of a boot, and counts the samples per kernel function.

    bench/sample-guest.py --bios build/stage0.bin [--seconds 0.5] [--kallsyms FILE]

Kernel symbols come from the guest's own /proc/kallsyms (Debian ships
vmlinux without them): the first run boots a small /init that prints it to
the serial port (booted by build/stage0.bin) and caches it as
build/bench/kallsyms.txt. Addresses below
1 MiB are the firmware's (stage0 runs at 0x10000). A coarse tool: a few
hundred samples, each one a monitor round trip. It found the F-segment scan
(native_flush_tlb_one_user) that the MP tables removed."""

import argparse
import bisect
import collections
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "boot"))
import initramfs  # noqa: E402


def qemu(bios, kernel, initrd, append, extra):
    return ["qemu-system-x86_64", "-machine", "microvm,accel=tcg", "-m", "1G", "-nographic", "-nodefaults",
            "-no-reboot", "-bios", bios, "-kernel", kernel, "-initrd", initrd, "-append", append, *extra]


def kallsyms(path, kernel):
    if os.path.exists(path):
        return path
    with tempfile.TemporaryDirectory() as work:
        init = os.path.join(work, "init.sh")
        with open(init, "w") as f:
            f.write("#!/bin/sh\nmount -t proc proc /proc\nmount -t devtmpfs devtmpfs /dev\n"
                    "grep ' [tTwW] ' /proc/kallsyms > /dev/ttyS0\nreboot -f\n")
        image = os.path.join(work, "kallsyms.cpio")
        initramfs.build(image, open(init).read(), 0, "/bin/busybox", ())
        serial = os.path.join(work, "serial.log")
        # stage0 as the firmware: it adds the tsc_early_khz without which Linux hangs under TCG.
        subprocess.run(qemu(os.path.join(REPO, "build", "stage0.bin"), kernel, image, "console=ttyS0 quiet panic=-1",
                            ["-serial", f"file:{serial}"]), check=True, timeout=300,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lines = [l.strip() for l in open(serial, errors="replace") if re.match(r"^[0-9a-f]{16} [tTwW] ", l)]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def sample(cmd, seconds):
    with tempfile.TemporaryDirectory() as work:
        sock = os.path.join(work, "qmp.sock")
        proc = subprocess.Popen(cmd + ["-serial", "null", "-qmp", f"unix:{sock},server=on,wait=off"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not os.path.exists(sock):
                time.sleep(0.002)
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            f = s.makefile("rw")
            f.readline()
            f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
            f.flush()
            f.readline()
            rips, start = [], time.monotonic()
            while time.monotonic() - start < seconds:
                f.write(json.dumps({"execute": "human-monitor-command",
                                    "arguments": {"command-line": "info registers"}}) + "\n")
                f.flush()
                reply = json.loads(f.readline())
                while "return" not in reply:
                    reply = json.loads(f.readline())
                m = re.search(r"RIP=([0-9a-f]+)", reply["return"])
                if m:
                    rips.append(int(m.group(1), 16))
            return rips
        finally:
            proc.kill()
            proc.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bios", required=True)
    p.add_argument("--kernel", default=os.path.join(REPO, "build", "vmlinux"))
    p.add_argument("--initrd", default=os.path.join(REPO, "build", "demo-initramfs"))
    # qboot and SeaBIOS give no tsc_early_khz, without which Linux hangs under TCG: pass one.
    p.add_argument("--append", default="console=ttyS0 panic=-1")
    p.add_argument("--seconds", type=float, default=0.5)
    p.add_argument("--kallsyms", default=os.path.join(REPO, "build", "bench", "kallsyms.txt"))
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()
    symbols = sorted((int(a, 16), name) for a, _, name in
                     (line.split()[:3] for line in open(kallsyms(args.kallsyms, args.kernel))))
    starts = [a for a, _ in symbols]
    counts = collections.Counter()
    rips = sample(qemu(args.bios, args.kernel, args.initrd, args.append, []), args.seconds)
    for rip in rips:
        if rip < 0x100000:
            counts[f"firmware {rip & ~0xFFF:#x}"] += 1
        elif rip < 0xFFFFFFFF80000000:
            counts[f"other {rip:#x}"] += 1
        else:
            counts[symbols[max(0, bisect.bisect_right(starts, rip) - 1)][1]] += 1
    print(f"{len(rips)} samples in {args.seconds} s")
    for name, n in counts.most_common(args.top):
        print(f"{n:5d} {name}")


if __name__ == "__main__":
    main()
