#!/usr/bin/env python3
"""Capture QEMU microvm's ACPI fw_cfg files (etc/table-loader,
etc/acpi/tables, etc/acpi/rsdp) as the firmware would find them.

QEMU is started stopped (-S, so its own firmware never runs and nothing
has patched or written back anything) with the qtest protocol on
stdin/stdout; the script then drives the fw_cfg device at I/O ports
0x510 (selector) and 0x511 (data) exactly as firmware does with port
I/O: select FW_CFG_FILE_DIR (0x19), read the directory, select each file
and read its bytes.

    python3 capture-acpi.py --smp 2 --out Tests/LoaderTests/Fixtures
"""
import argparse
import os
import subprocess
import sys

FILES = ["etc/table-loader", "etc/acpi/tables", "etc/acpi/rsdp"]


class QTest:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)

    def command(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        while True:
            reply = self.proc.stdout.readline()
            if not reply:
                sys.exit(f"qemu exited after {line!r}")
            if reply.startswith("IRQ"):
                continue
            if not reply.startswith("OK"):
                sys.exit(f"{line!r}: {reply.strip()}")
            return reply.split()[1:]

    def select(self, selector):
        self.command(f"outw 0x510 {selector:#x}")

    def read(self, count):
        return bytes(int(self.command("inb 0x511")[0], 16) for _ in range(count))

    def close(self):
        # QEMU keeps running when qtest's stdin closes: stop it.
        self.proc.stdin.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--qemu", default="qemu-system-x86_64")
    p.add_argument("--smp", type=int, default=2)
    p.add_argument("--memory", default="1G")
    p.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = p.parse_args()

    # The device set of a stage0 boot (-nodefaults -serial ...): one ISA
    # serial port, here backed by the null chardev since stdio is qtest's.
    argv = [args.qemu, "-machine", "microvm,accel=tcg", "-smp", str(args.smp), "-m", args.memory,
            "-nodefaults", "-display", "none", "-serial", "null",
            "-S", "-qtest", "stdio", "-qtest-log", "/dev/null"]
    print(" ".join(argv), file=sys.stderr)
    qtest = QTest(argv)
    qtest.select(0x0000)
    signature = qtest.read(4)
    if signature != b"QEMU":
        sys.exit(f"fw_cfg signature {signature!r}, expected b'QEMU'")
    qtest.select(0x0019)
    count = int.from_bytes(qtest.read(4), "big")
    directory = {}
    for _ in range(count):
        entry = qtest.read(64)
        size = int.from_bytes(entry[0:4], "big")
        selector = int.from_bytes(entry[4:6], "big")
        name = entry[8:].split(b"\0", 1)[0].decode()
        directory[name] = (selector, size)
        print(f"  {selector:#06x} {size:8d} {name}", file=sys.stderr)
    prefix = f"microvm-smp{args.smp}"
    for name in FILES:
        if name not in directory:
            sys.exit(f"fw_cfg has no {name}")
        selector, size = directory[name]
        qtest.select(selector)
        data = qtest.read(size)
        path = os.path.join(args.out, prefix + "-" + name.split("/", 1)[1].replace("/", "-") + ".bin")
        with open(path, "wb") as f:
            f.write(data)
        print(f"wrote {path} ({len(data)} bytes)", file=sys.stderr)
    qtest.close()


if __name__ == "__main__":
    main()
