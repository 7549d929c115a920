#!/usr/bin/env python3
"""Capture seed inputs for the e820 and fw_cfg-directory fuzzers from a real
QEMU: the raw FW_CFG_FILE_DIR item (be32 count + 64-byte entries) and
etc/e820, read through fw_cfg's I/O ports like firmware, with QEMU stopped
before any firmware runs (the qtest driver of
Tests/LoaderTests/Fixtures/capture-acpi.py).

    python3 Fuzz/capture-fwcfg.py
"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "capture_acpi", os.path.join(HERE, "..", "Tests", "LoaderTests", "Fixtures", "capture-acpi.py"))
capture_acpi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(capture_acpi)

FIXTURE = os.path.join(HERE, "..", "Tests", "LoaderTests", "Fixtures", "debian-6.1.0-vmlinux-headers.bin")

# (name, extra QEMU arguments)
CONFIGS = [
    ("microvm-1G", ["-machine", "microvm,accel=tcg", "-m", "1G"]),
    ("microvm-5G", ["-machine", "microvm,accel=tcg", "-m", "5G"]),
    ("microvm-1G-stage0-files", ["-machine", "microvm,accel=tcg", "-m", "1G",
                                 "-fw_cfg", f"name=opt/stage0/elf_kernel,file={FIXTURE}",
                                 "-fw_cfg", f"name=opt/stage0/initramfs,file={FIXTURE}",
                                 "-fw_cfg", "name=opt/stage0/cmdline,string=console=ttyS0 quiet"]),
    ("microvm-128M-acpi-off", ["-machine", "microvm,accel=tcg,acpi=off", "-m", "128M"]),
    ("q35-6G", ["-machine", "q35,accel=tcg", "-m", "6G"]),
]


def capture(name, extra):
    argv = ["qemu-system-x86_64", *extra, "-smp", "2", "-nodefaults", "-display", "none",
            "-serial", "null", "-S", "-qtest", "stdio", "-qtest-log", "/dev/null"]
    print(" ".join(argv), file=sys.stderr)
    qtest = capture_acpi.QTest(argv)
    qtest.select(0x0019)
    count_bytes = qtest.read(4)
    entries = qtest.read(64 * int.from_bytes(count_bytes, "big"))
    directory = count_bytes + entries
    e820 = None
    for index in range(len(entries) // 64):
        entry = entries[64 * index:64 * (index + 1)]
        if entry[8:].split(b"\0", 1)[0] == b"etc/e820":
            qtest.select(int.from_bytes(entry[4:6], "big"))
            e820 = qtest.read(int.from_bytes(entry[0:4], "big"))
    cmos = b""
    for register in range(128):
        qtest.command(f"outb 0x70 {register:#x}")
        cmos += bytes([int(qtest.command("inb 0x71")[0], 16)])
    qtest.close()
    # 128 bytes: no multiple of 20, so the e820 fuzzer also reads them as CMOS registers.
    write(os.path.join(HERE, "corpus", "e820", f"qemu-7.2-{name}-cmos"), cmos)
    # The fuzzer reads a flags byte first (0: port I/O + DMA, as QEMU offers).
    write(os.path.join(HERE, "corpus", "fwcfg-directory", f"qemu-7.2-{name}-directory"), b"\0" + directory)
    if e820 is not None:
        write(os.path.join(HERE, "corpus", "e820", f"qemu-7.2-{name}-etc-e820"), e820)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    print(f"wrote {path} ({len(data)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    for name, extra in CONFIGS:
        capture(name, extra)
