#!/usr/bin/env python3
"""Extract the uncompressed ELF vmlinux from a Linux bzImage.

Usage: extract-vmlinux.py BZIMAGE OUT

stage0 loads the kernel as an ELF (fw_cfg file opt/stage0/elf_kernel), but
distributions ship only the compressed bzImage.  Like the kernel's own
scripts/extract-vmlinux, this scans the image for every known compression
magic, tries to decompress from each hit and keeps the first result that is
an ELF file.  We do not parse the bzImage header to find the payload: the
magic scan works for every kernel version and every compressor without
knowing the header layout.

Python standard library only; zstd, lz4 and lzo need their command-line
tools, which are used only when installed.
"""

import lzma
import bz2
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

ELF_MAGIC = b"\x7fELF"
CHUNK = 1 << 20

# How much input a probe may feed a decompressor: a real payload yields its
# first output bytes (the ELF header) from far less than this, and keeping
# it small makes the many false magic hits in a bzImage cheap to reject.
PROBE_INPUT = 256 << 10


class NotElf(Exception):
    """A candidate stream did not decompress to a complete ELF file."""


class ExtractError(Exception):
    """No candidate worked; the message says what was tried."""


def _lzma_alone():
    return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)


# Formats Python decompresses itself: name -> (magic, decompressor factory).
# Each decompressor stops at the end of its stream, so the bytes that follow
# the payload inside the bzImage do no harm.
STDLIB_FORMATS = {
    "gzip": (b"\x1f\x8b\x08", lambda: zlib.decompressobj(wbits=31)),
    "xz": (b"\xfd7zXZ\x00", lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ)),
    "bzip2": (b"BZh", bz2.BZ2Decompressor),
    # Legacy .lzma has no real magic; the kernel uses properties byte 0x5d
    # followed by a little-endian dictionary size whose low bytes are 0.
    "lzma": (b"\x5d\x00\x00", _lzma_alone),
}

# Formats only an external tool decompresses: name -> (magic, argv).
CLI_FORMATS = {
    "zstd": (b"\x28\xb5\x2f\xfd", ["zstd", "-d", "-q", "-c"]),
    "lz4": (b"\x02\x21\x4c\x18", ["lz4", "-d", "-q", "-c"]),
    "lzo": (b"\x89\x4c\x5a\x4f", ["lzop", "-d", "-q", "-c"]),
}


def find_all(data, magic):
    """Yield every offset of magic in data."""
    pos = data.find(magic)
    while pos != -1:
        yield pos
        pos = data.find(magic, pos + 1)


def check_elf(path):
    """Raise NotElf unless path holds an ELF whose program headers and
    segments lie inside the file: this rejects a stream that decompressed
    to something ELF-looking but truncated."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        ident = f.read(64)
        if len(ident) < 64 or not ident.startswith(ELF_MAGIC):
            raise NotElf("output does not start with an ELF header")
        if ident[4] != 2:  # EI_CLASS: stage0 loads 64-bit kernels only
            raise NotElf("output is not a 64-bit ELF")
        e_phoff, = struct.unpack_from("<Q", ident, 0x20)
        e_phentsize, e_phnum = struct.unpack_from("<HH", ident, 0x36)
        if e_phnum == 0 or e_phoff + e_phnum * e_phentsize > size:
            raise NotElf("ELF program headers lie outside the output")
        f.seek(e_phoff)
        for _ in range(e_phnum):
            ph = f.read(e_phentsize)
            p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", ph)
            if p_type == 1 and p_offset + p_filesz > size:  # PT_LOAD
                raise NotElf("an ELF segment lies past the end of the output")


def probe(factory, data, offset):
    """Cheaply reject a magic hit whose stream is corrupt or does not start
    with an ELF header.  A stream that has produced no output yet (bzip2
    emits nothing before its first whole block, up to 900 kB) stays a
    candidate: the full decompression decides."""
    try:
        head = factory().decompress(data[offset:offset + PROBE_INPUT], len(ELF_MAGIC))
    except (lzma.LZMAError, zlib.error, OSError, EOFError, ValueError):
        return False
    return ELF_MAGIC.startswith(head) if len(head) < len(ELF_MAGIC) else head == ELF_MAGIC


def decompress_stdlib(factory, data, offset, out):
    """Stream-decompress data[offset:] to the file out, chunk by chunk, so
    the 60+ MiB vmlinux is never held in memory next to its input."""
    d = factory()
    view = data[offset:]
    try:
        for start in range(0, len(view), CHUNK):
            out.write(d.decompress(view[start:start + CHUNK]))
            if d.eof:
                break
        if hasattr(d, "flush"):  # zlib keeps some output until flushed
            out.write(d.flush())
    except (lzma.LZMAError, zlib.error, OSError, EOFError, ValueError) as e:
        raise NotElf(f"decompression failed: {e}")
    if not d.eof:
        raise NotElf("compressed stream ends before its end marker")


def decompress_cli(argv, data, offset, out):
    """Pipe data[offset:] through an external decompressor.  Its exit status
    is ignored on purpose: the trailing bytes after the payload make these
    tools complain even when the payload itself decoded fine; check_elf
    judges the result instead."""
    subprocess.run(argv, input=data[offset:], stdout=out,
                   stderr=subprocess.DEVNULL, check=False)


def candidates(data):
    """Yield (description, writer) for every magic hit, in file order, so the
    earliest real payload wins whatever its format."""
    view = memoryview(data)  # slices of a view do not copy the image
    hits = []
    for name, (magic, factory) in STDLIB_FORMATS.items():
        for off in find_all(data, magic):
            if probe(factory, view, off):
                hits.append((off, name,
                             lambda out, f=factory, o=off: decompress_stdlib(f, view, o, out)))
    for name, (magic, argv) in CLI_FORMATS.items():
        if shutil.which(argv[0]) is None:
            continue
        for off in find_all(data, magic):
            hits.append((off, name,
                         lambda out, a=argv, o=off: decompress_cli(a, view, o, out)))
    for off, name, writer in sorted(hits, key=lambda h: h[0]):
        yield f"{name} at offset {off:#x}", writer


def write_atomically(out_path, fill):
    """Call fill(file) on a temp file next to out_path and rename it into
    place only if fill succeeds, so a failed or interrupted run never leaves
    a half-written vmlinux that a later build would trust."""
    out_dir = os.path.dirname(os.path.abspath(out_path))
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".extract-vmlinux.")
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out_path)
    except BaseException:
        os.unlink(tmp)
        raise


def extract(image_path, out_path):
    """Extract image_path to out_path; return a description of what was found."""
    out_dir = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(out_dir):
        raise ExtractError(f"extract-vmlinux: error: output directory {out_dir} does not exist")
    with open(image_path, "rb") as f:
        data = f.read()

    if data.startswith(ELF_MAGIC):
        # Already a vmlinux: copying keeps "make" rules simple for callers.
        def copy(f, tmp):
            f.write(data)
            f.flush()
            check_elf(tmp)
        write_atomically(out_path, copy)
        return "input is already an ELF; copied"

    tried = []
    for desc, writer in candidates(data):
        def fill(f, tmp, writer=writer):
            writer(f)
            f.flush()
            check_elf(tmp)
        try:
            write_atomically(out_path, fill)
            return desc
        except NotElf as e:
            tried.append(f"{desc}: {e}")

    names = ", ".join(list(STDLIB_FORMATS) +
                      [n for n, (_, a) in CLI_FORMATS.items() if shutil.which(a[0])])
    missing = [a[0] for _, a in CLI_FORMATS.values() if shutil.which(a[0]) is None]
    msg = [f"extract-vmlinux: error: no ELF vmlinux found in {image_path}",
           f"  scanned for: {names}"]
    if missing:
        msg.append(f"  not tried (tool not installed): {', '.join(missing)}")
    if tried:
        msg.append("  candidates tried and rejected:")
        msg += [f"    {t}" for t in tried]
    else:
        msg.append("  no candidate stream decompressed to an ELF header")
    raise ExtractError("\n".join(msg))


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    image_path, out_path = argv[1], argv[2]
    try:
        desc = extract(image_path, out_path)
    except OSError as e:
        print(f"extract-vmlinux: error: {e.filename or image_path}: {e.strerror}",
              file=sys.stderr)
        return 1
    except ExtractError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"extract-vmlinux: {image_path}: {desc} -> {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
