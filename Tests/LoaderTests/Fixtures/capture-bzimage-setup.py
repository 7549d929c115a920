#!/usr/bin/env python3
"""Capture the -kernel items QEMU microvm serves for a bzImage: the first
0x280 bytes of SETUP_DATA (0x18), the setup part with the header QEMU has
filled in for its own option ROM, and the sizes in KERNEL_SIZE (0x08),
INITRD_SIZE (0x0B), CMDLINE_SIZE (0x14) and SETUP_SIZE (0x17).

QEMU is started stopped (-S) with the qtest protocol on stdin/stdout, as in
capture-acpi.py (whose QTest class this uses), and fw_cfg is read through
ports 0x510/0x511 like firmware does.

    python3 capture-bzimage-setup.py --kernel /boot/vmlinuz-6.1.0-57-amd64
"""
import argparse
import importlib.util
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("capture_acpi", os.path.join(HERE, "capture-acpi.py"))
capture_acpi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(capture_acpi)

# include/standard-headers/linux/qemu_fw_cfg.h
ITEMS = [(0x07, "KERNEL_ADDR"), (0x08, "KERNEL_SIZE"), (0x0A, "INITRD_ADDR"), (0x0B, "INITRD_SIZE"),
         (0x10, "KERNEL_ENTRY"), (0x13, "CMDLINE_ADDR"), (0x14, "CMDLINE_SIZE"), (0x16, "SETUP_ADDR"),
         (0x17, "SETUP_SIZE")]
SETUP_DATA = 0x18
HEADER_BYTES = 0x280


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--qemu", default="qemu-system-x86_64")
    p.add_argument("--kernel", required=True)
    p.add_argument("--memory", default="512M")
    p.add_argument("--append", default="console=ttyS0")
    p.add_argument("--out", default=os.path.join(HERE, "qemu-7.2-microvm-bzimage-setup-data.bin"))
    args = p.parse_args()

    with tempfile.NamedTemporaryFile(suffix=".cpio") as initrd:
        initrd.write(bytes(4096))     # any 4 KiB: QEMU only places it
        initrd.flush()
        argv = [args.qemu, "-machine", "microvm,accel=tcg", "-m", args.memory, "-nodefaults",
                "-display", "none", "-serial", "null", "-kernel", args.kernel, "-initrd", initrd.name,
                "-append", args.append, "-S", "-qtest", "stdio", "-qtest-log", "/dev/null"]
        print(" ".join(argv), file=sys.stderr)
        qtest = capture_acpi.QTest(argv)
        for selector, name in ITEMS:
            qtest.select(selector)
            value = int.from_bytes(qtest.read(4), "little")
            print(f"  {selector:#06x} {name:13} {value:#x} ({value})", file=sys.stderr)
        qtest.select(SETUP_DATA)
        data = qtest.read(HEADER_BYTES)
        qtest.close()
    with open(args.out, "wb") as f:
        f.write(data)
    print(f"wrote {args.out} ({len(data)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
