#!/usr/bin/env python3
"""Prints how much of the firmware image is used: the bytes the ROM must
hold (the 64-bit image copied to RAM, the reset code, the reset vector)
against the image size QEMU maps. Reads the ELF's section headers."""
import struct
import sys


def rom_sections(elf_path):
    with open(elf_path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        sys.exit(f"image-usage: {elf_path} is not an ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = headers[shstrndx]
    names = data[strtab[4]:strtab[4] + strtab[5]]
    SHT_NOBITS, SHF_ALLOC = 8, 2
    for name_offset, sh_type, flags, addr, offset, size, *_ in headers:
        if flags & SHF_ALLOC and sh_type != SHT_NOBITS and size:
            yield names[name_offset:names.index(b"\0", name_offset)].decode(), size


def main():
    elf_path, bin_path = sys.argv[1:3]
    used = sum(size for _, size in rom_sections(elf_path))
    with open(bin_path, "rb") as f:
        total = len(f.read())
    if total % 65536:
        sys.exit(f"image-usage: {bin_path} is {total} bytes, not a multiple of 64 KiB: QEMU will refuse it")
    print(f"{bin_path}: {used} of {total} bytes used ({100 * used / total:.1f}%), "
          f"{total - used} free")


if __name__ == "__main__":
    main()
