#!/usr/bin/env python3
"""stage0's benchmarks: `make bench` runs this; it writes bench/results.md
and bench/chart.png.

    bench/run.py [--quick] [--runs N] [--only GROUP,...] [--stage0-cli PATH]

Groups (issue 5), each run interleaved (A B C A B C ...) so that the noise of
a shared machine falls on every variant alike:

  firmware   the same kernel, initramfs and command line under stage0 (three
             interfaces), qboot (bzImage, PVH) and SeaBIOS microvm (bzImage);
             plus stage0 with -mem-prealloc, which gives the DMA floor
  scaling    stage0 with initramfs of 1, 64, 256 and 512 MiB (of padding)
  formats    one compressible initramfs as none / gzip / zstd
  converter  `stage0 initramfs` against the seed's shell pipeline on a Debian
             rootfs made with mmdebstrap and imported with podman
  size       used bytes of build/stage0.bin, qboot, SeaBIOS, Oak's stage0

Timing: QEMU's stdout is a pipe read by a thread that timestamps every
chunk with time.monotonic() from just before Popen.  "kernel" is the first
byte of the line holding "Linux version" (no `quiet`, so every firmware's
kernel prints it first), "/init" the first byte of the marker line the test
/init prints, "exit" QEMU's exit after `reboot -f` under -no-reboot.
stage0's own numbers come from its log, rescaled from stage0's TSC estimate
to the host TSC rate (bench/tsc_khz.c), which is what the guest's RDTSC
counts under TCG.
"""

import argparse
import datetime
import hashlib
import json
import os
import pickle
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, "build")
WORK = os.path.join(BUILD, "bench")
sys.path.insert(0, os.path.join(ROOT, "tests", "boot"))
import initramfs  # noqa: E402  (tests/boot/initramfs.py)

QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
QBOOT = "/usr/share/qemu/qboot.rom"
SEABIOS = "/usr/share/seabios/bios-microvm.bin"
STAGE0_BIN = os.path.join(BUILD, "stage0.bin")
STAGE0_ELF = os.path.join(BUILD, "stage0.elf")
VMLINUX = os.path.join(BUILD, "vmlinux")
MARKER = initramfs.INIT_MARKER.encode()
MIB = 1 << 20
OAK_STAGE0_IMAGE = 512 * 1024   # documented, not run: see size_rows()
BOOT_TIMEOUT = 180
# qboot + bzImage sometimes never leaves Linux's "reboot: machine restart"
# (seen here: 2 of 5 runs); such a run is ended this long after /init.
REBOOT_GRACE = 20


# ---------------------------------------------------------------- helpers

def log(msg):
    print(f"bench: {msg}", flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, text=True,
                          capture_output=True, **kw).stdout.strip()


def qemu_arg(value):
    return value.replace(",", ",,")


def host_tsc_khz():
    exe = os.path.join(WORK, "tsc_khz")
    src = os.path.join(HERE, "tsc_khz.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        for cc in ("cc", "gcc", "clang"):
            if shutil.which(cc):
                subprocess.run([cc, "-O2", src, "-o", exe], check=True)
                break
    if os.path.exists(exe):
        return int(sh([exe]))
    # No compiler: on a constant-TSC host the kernel's "cpu MHz" is the TSC rate.
    with open("/proc/cpuinfo") as f:
        return int(float(re.search(r"cpu MHz\s*:\s*([\d.]+)", f.read()).group(1)) * 1000)


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"n": len(values), "median": statistics.median(values),
            "min": min(values), "max": max(values)}


def fmt(st, unit="s", digits=None):
    """'median [min-max]' for a stats dict, in s or ms."""
    if st is None:
        return "n/a"
    scale = 1000.0 if unit == "ms" else 1.0
    d = digits if digits is not None else (1 if unit == "ms" else 2)
    m, lo, hi = (st[k] * scale for k in ("median", "min", "max"))
    return f"{m:.{d}f} [{lo:.{d}f}-{hi:.{d}f}]"


# ---------------------------------------------------------------- one boot

class Boot:
    """One QEMU run with timestamped output."""

    STARTED = re.compile(rb"stage0: started \(([\d.]+) ms since reset, TSC (\d+) MHz\)")
    KERNEL = re.compile(rb"stage0: kernel loaded[^\n]*\(([\d.]+) ms\)")
    INITRD = re.compile(rb"stage0: initramfs at [^\n]*\(([\d.]+) ms\)")
    JUMP = re.compile(rb"stage0: jumping to kernel entry \S+ \(([\d.]+) ms since reset\)")
    STEPS = re.compile(rb"stage0: steps: ([^\r\n]*)")
    STEP = re.compile(rb"([\w_]+) ([\d.]+) ms")

    def __init__(self, cmd, timeout=BOOT_TIMEOUT):
        self.cmd = cmd
        chunks = []          # (end offset, time)
        buf = bytearray()
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)

        def reader():
            while True:
                data = p.stdout.read1(1 << 16)
                if not data:
                    return
                now = time.monotonic() - t0
                buf.extend(data)
                chunks.append((len(buf), now))

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        self.timed_out = False
        deadline = time.monotonic() + timeout
        while p.poll() is None:
            now = time.monotonic()
            if MARKER in buf and now > min(deadline, (chunks[-1][1] + t0 + REBOOT_GRACE) if chunks else deadline):
                break
            if now > deadline:
                break
            time.sleep(0.05)
        if p.poll() is None:
            p.kill()
            p.wait()
            self.timed_out = True
        thread.join(5)
        self.t_exit = time.monotonic() - t0
        self.status = p.returncode
        self.out = bytes(buf)
        self._chunks = chunks

    def time_at(self, offset):
        for end, t in self._chunks:
            if end > offset:
                return t
        return None

    def line_start(self, needle):
        i = self.out.find(needle)
        if i < 0:
            return None
        return self.out.rfind(b"\n", 0, i) + 1

    @property
    def t_kernel(self):
        i = self.out.find(b"Linux version")
        if i < 0:
            return None
        j = self.out.rfind(b"[", self.out.rfind(b"\n", 0, i) + 1, i)   # its "[    0.000000]"
        return self.time_at(j if j >= 0 else i)

    @property
    def t_marker(self):
        i = self.line_start(MARKER)
        return None if i is None else self.time_at(i)

    @property
    def ok(self):
        return not self.timed_out and self.status == 0 and MARKER in self.out

    def why(self):
        if self.timed_out and MARKER in self.out:
            return "/init reached, then QEMU never exited (killed)"
        if self.timed_out:
            return f"timed out after {BOOT_TIMEOUT} s"
        if self.status != 0:
            return f"QEMU exit status {self.status}"
        return "no /init marker"

    def stage0_times(self, host_mhz):
        """stage0's logged times in seconds, rescaled to the host TSC rate."""
        m = self.STARTED.search(self.out)
        if not m:
            return None
        scale = int(m.group(2)) / host_mhz / 1000.0   # ms at stage0's rate -> s at the real one
        t = {"started": float(m.group(1)) * scale, "stage0_mhz": int(m.group(2))}
        for key, rx in (("kernel", self.KERNEL), ("initramfs", self.INITRD), ("jump", self.JUMP)):
            mm = rx.search(self.out)
            t[key] = float(mm.group(1)) * scale if mm else None
        # Bytes stage0 writes to the serial port up to the jump: each is a
        # port write, a TCG exit and a write(2) by QEMU.
        jump = self.out.find(b"stage0: jumping")
        t["log_bytes"] = self.out.find(b"\n", jump) + 1 if jump >= 0 else None
        t["serial_us_per_byte"] = self.serial_cost()
        steps = self.STEPS.search(self.out)
        t["steps"] = ({name.decode(): float(ms) * scale for name, ms in self.STEP.findall(steps.group(1))}
                      if steps else {})
        return t

    def serial_cost(self):
        """Host-side time per byte of the 'fw_cfg file' lines: stage0 prints
        them from the directory it already read, so they cost only output."""
        lines = [m.start() for m in re.finditer(rb"stage0: fw_cfg file ", self.out)]
        if len(lines) < 3:
            return None
        a, b = lines[0], lines[-1]
        ta, tb = self.time_at(a), self.time_at(b)
        return (tb - ta) / (b - a) * 1e6 if ta is not None and tb is not None and b > a else None


def qemu_base(memory="1G", extra=()):
    return [QEMU, "-machine", "microvm,accel=tcg", "-m", memory, "-nographic", "-nodefaults",
            "-no-reboot", "-serial", "stdio", *extra]


def stage0_seed(kernel, initrd, cmdline, memory="1G", extra=()):
    return qemu_base(memory, extra) + [
        "-bios", STAGE0_BIN,
        "-fw_cfg", f"name=opt/stage0/elf_kernel,file={qemu_arg(kernel)}",
        "-fw_cfg", f"name=opt/stage0/initramfs,file={qemu_arg(initrd)}",
        "-fw_cfg", f"name=opt/stage0/cmdline,string={qemu_arg(cmdline)}"]


def standard(bios, kernel, initrd, cmdline, memory="1G", extra=()):
    return qemu_base(memory, extra) + ["-bios", bios, "-kernel", kernel, "-initrd", initrd,
                                       "-append", cmdline]


def interleave(variants, runs, group):
    """variants: [(key, cmd)]; runs them A B C A B C ...; returns {key: [Boot]}."""
    results = {key: [] for key, _ in variants}
    total = runs * len(variants)
    done = 0
    for r in range(runs):
        for key, cmd in variants:
            done += 1
            b = Boot(cmd)
            results[key].append(b)
            state = f"{b.t_exit:6.2f} s" if b.ok else f"FAILED ({b.why()})"
            log(f"{group} {done}/{total} {key}: {state}")
            # Every run's command and serial output, for checking by hand.
            slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{group}-{key}").strip("-")
            with open(os.path.join(WORK, "logs", f"{slug}-{r + 1}{'' if b.ok else '-FAILED'}.log"), "wb") as f:
                f.write(shlex.join(cmd).encode() + b"\n" + b.out)
    return results


# ---------------------------------------------------------------- inputs

def bench_initramfs(name, pad_mib=0, extra_files=()):
    path = os.path.join(WORK, name)
    if not os.path.exists(path):
        log(f"building {name}")
        initramfs.build(path, initramfs.init_script(""), pad_mib=pad_mib, extra_files=extra_files)
    return path


def module_files(kver):
    """kernel/fs and kernel/net of the kernel's own modules: real, compressible
    files that every machine with this kernel package has byte for byte."""
    base = f"/lib/modules/{kver}"
    out = []
    for sub in ("kernel/fs", "kernel/net"):
        for d, _, files in os.walk(os.path.join(base, sub)):
            for fn in files:
                p = os.path.join(d, fn)
                out.append((os.path.relpath(p, "/"), p))
    return sorted(out)


# ---------------------------------------------------------------- groups

def group_firmware(env, runs):
    init = env["initrd"]
    cl = env["cmdline"]
    bz, elf = env["bzimage"], VMLINUX
    variants = [
        ("stage0 fw_cfg vmlinux", stage0_seed(elf, init, cl)),
        ("stage0 -kernel bzImage", standard(STAGE0_BIN, bz, init, cl)),
        ("stage0 -kernel vmlinux", standard(STAGE0_BIN, elf, init, cl)),
        ("qboot bzImage", standard(QBOOT, bz, init, cl)),
        ("qboot vmlinux (PVH)", standard(QBOOT, elf, init, cl)),
        ("SeaBIOS bzImage", standard(SEABIOS, bz, init, cl)),
        # Not a firmware comparison: RAM allocated before reset, so the DMA
        # times stage0 logs are the pure copy (the floor of item 2).
        ("stage0 fw_cfg vmlinux -mem-prealloc", stage0_seed(elf, init, cl, extra=["-mem-prealloc"])),
    ]
    return interleave(variants, runs, "firmware")


def group_scaling(env, runs):
    cl = env["cmdline"]
    variants = []
    for mib in (1, 64, 256, 512):
        init = bench_initramfs(f"initramfs-pad{mib}.cpio", pad_mib=mib)
        variants.append((mib, stage0_seed(VMLINUX, init, cl, memory="2G")))
    res = interleave(variants, runs, "scaling")
    return {mib: (os.path.getsize(bench_initramfs(f"initramfs-pad{mib}.cpio", pad_mib=mib)), boots)
            for mib, boots in res.items()}


def timed(cmd, out_path=None):
    """Run cmd (list, or str for sh -c); returns (seconds, peak RSS of the
    largest process in bytes).  The RSS comes from GNU time: a child forked
    from this Python process would count Python's own pages in its max RSS
    (Linux keeps the pre-exec high-water mark)."""
    args = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else cmd
    with tempfile.NamedTemporaryFile("r", dir=WORK, suffix=".rss") as rss:
        stdout = open(out_path, "wb") if out_path else subprocess.DEVNULL
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-q", "-f", "%M", "-o", rss.name] + args,
                           stdout=stdout, stderr=subprocess.PIPE)
        elapsed = time.monotonic() - t0
        if out_path:
            stdout.close()
        if p.returncode != 0:
            raise RuntimeError(f"{cmd!r} failed ({p.returncode}): {p.stderr.decode(errors='replace')[-500:]}")
        kib = int(rss.read().split()[-1])
    return elapsed, kib * 1024


def group_formats(env, runs):
    cl = env["cmdline"]
    raw = bench_initramfs("initramfs-modules.cpio", extra_files=module_files(env["kver"]))
    tools = {"none": None, "gzip": ["gzip", "-6", "-c", "-n"], "zstd": ["zstd", "-3", "-T1", "-c", "-q"]}
    files, conv = {}, {}
    for fmtname, tool in tools.items():
        if tool is None:
            files[fmtname] = raw
            conv[fmtname] = None
            continue
        path = raw + ("." + fmtname[:2] if fmtname == "gzip" else ".zst")
        times = []
        for _ in range(3):
            t, _rss = timed(tool + [raw], path)
            times.append(t)
        files[fmtname] = path
        conv[fmtname] = stats(times)
    variants = [(k, stage0_seed(VMLINUX, p, cl)) for k, p in files.items()]
    boots = interleave(variants, runs, "formats")
    return {k: {"size": os.path.getsize(files[k]), "conv": conv[k], "boots": boots[k]} for k in files}


def debian_image():
    """A Debian bookworm rootfs (minbase + python3) made with mmdebstrap,
    imported into podman, saved as a docker-archive.  Cached in build/bench."""
    rootfs = os.path.join(WORK, "debian-rootfs.tar")
    archive = os.path.join(WORK, "debian-docker.tar")
    if not os.path.exists(rootfs):
        log("making a Debian rootfs with mmdebstrap (about a minute)")
        tmp = rootfs + ".tmp.tar"
        subprocess.run(["mmdebstrap", "--quiet", "--variant=minbase", "--include=python3",
                        "--mode=root", "bookworm", tmp], check=True)
        os.replace(tmp, rootfs)
    if not os.path.exists(archive):
        log("importing it with podman")
        pod = ["podman", "--storage-driver", "vfs"]
        subprocess.run(pod + ["import", rootfs, "localhost/stage0-bench-debian:latest"],
                       check=True, stdout=subprocess.DEVNULL)
        tmp = archive + ".tmp"
        if os.path.exists(tmp):
            os.unlink(tmp)
        subprocess.run(pod + ["save", "--format", "docker-archive", "-o", tmp,
                              "localhost/stage0-bench-debian:latest"], check=True)
        os.replace(tmp, archive)
    return rootfs, archive


def group_converter(env, runs):
    runs = env.get("converter_runs") or runs
    cli = env["cli"]
    if not cli:
        return {"pending": "no `stage0` CLI found (build/stage0, or --stage0-cli / STAGE0_CLI)"}
    try:
        usage = subprocess.run([cli], capture_output=True, text=True).stderr + \
            subprocess.run([cli, "initramfs"], capture_output=True, text=True).stderr
    except OSError as e:
        return {"pending": f"{cli}: {e}"}
    if "initramfs" not in usage:
        return {"pending": f"{cli} has no `initramfs` command"}
    has_compress = "--compress" in usage
    rootfs, archive = debian_image()
    out = os.path.join(WORK, "conv")
    os.makedirs(out, exist_ok=True)
    tree = os.path.join(out, "tree")
    seed = os.path.join(out, "seed.cpio.gz")
    # The seed's pipeline (Oak's docker example, after `docker export`): untar,
    # then find | cpio -H newc | gzip.  The untar is part of it.
    pipeline = (f"rm -rf {tree} && mkdir {tree} && tar -xf {rootfs} -C {tree} && cd {tree} && "
                f"find . | cpio -o -H newc --quiet | gzip > {seed}")
    variants = [("shell pipeline (gzip)", pipeline, seed)]
    for comp in (("gzip", "zstd", "none") if has_compress else (None,)):
        o = os.path.join(out, f"stage0-{comp or 'default'}.cpio")
        cmd = [cli, "initramfs", archive, "-o", o] + (["--compress", comp] if comp else [])
        variants.append((f"stage0 initramfs --compress {comp}" if comp else "stage0 initramfs", cmd, o))
    res = {k: {"t": [], "rss": [], "file": o} for k, _, o in variants}
    for r in range(runs):
        for key, cmd, o in variants:
            if os.path.exists(o):
                os.unlink(o)
            subprocess.run(["sync"])
            t, rss = timed(cmd)
            res[key]["t"].append(t)
            res[key]["rss"].append(rss)
            log(f"converter {r + 1}/{runs} {key}: {t:.2f} s, {rss / MIB:.0f} MiB peak")
    shutil.rmtree(tree, ignore_errors=True)
    for k, v in res.items():
        v["size"] = os.path.getsize(v["file"])
        v["t"] = stats(v["t"])
        v["rss"] = stats(v["rss"])
    return {"cli": cli, "rootfs": os.path.getsize(rootfs), "archive": os.path.getsize(archive),
            "results": res}


def tcg_blocks(log_path, kernel_lo=0x1000000, kernel_hi=0x80000000):
    """Translated blocks and guest instructions in a QEMU -d in_asm log
    before the first block inside the kernel's physical range."""
    blocks = insns = 0
    in_block = False
    with open(log_path, errors="replace") as f:
        for line in f:
            if line.startswith("IN:"):
                in_block = "start"
                continue
            if in_block and line.startswith("0x"):
                addr = int(line.split(":")[0], 16)
                if in_block == "start":
                    if kernel_lo <= addr < kernel_hi:
                        return blocks, insns
                    blocks += 1
                    in_block = True
                insns += 1
            elif not line.strip():
                in_block = False
    return blocks, insns


def group_tcg(env):
    """One run each with -d in_asm: how much code TCG must translate before
    the kernel's entry.  Under TCG the first run of every guest block pays
    for its translation; stage0's constant part is mostly that."""
    init, cl = env["initrd"], env["cmdline"]
    variants = [("stage0 fw_cfg vmlinux", stage0_seed(VMLINUX, init, cl)),
                ("stage0 -kernel vmlinux", standard(STAGE0_BIN, VMLINUX, init, cl)),
                ("qboot vmlinux (PVH)", standard(QBOOT, VMLINUX, init, cl))]
    out = {}
    for key, cmd in variants:
        path = os.path.join(WORK, "in_asm.log")
        Boot(cmd + ["-d", "in_asm", "-D", path])
        out[key] = tcg_blocks(path)
        os.unlink(path)
        log(f"tcg {key}: {out[key][0]} blocks, {out[key][1]} instructions before the kernel")
    return out


def used_bytes_heuristic(path):
    """Bytes of an image outside runs of >= 256 equal 0x00 or 0xFF bytes (the
    padding of a ROM image); the same rule for every image."""
    with open(path, "rb") as f:
        data = f.read()
    pad = sum(len(m.group(0)) for m in re.finditer(rb"\x00{256,}|\xff{256,}", data))
    return len(data), len(data) - pad


def size_rows():
    rows = []
    out = sh([sys.executable, os.path.join(ROOT, "scripts", "image-usage.py"), STAGE0_ELF, STAGE0_BIN])
    m = re.search(r"(\d+) of (\d+) bytes used", out)
    total, padless = used_bytes_heuristic(STAGE0_BIN)
    rows.append(("stage0 (build/stage0.bin)", total, int(m.group(1)), padless,
                 "used = allocated ELF sections (scripts/image-usage.py)"))
    for name, path in (("qboot (qboot.rom)", QBOOT), ("SeaBIOS microvm", SEABIOS)):
        real = os.path.realpath(path)
        total, padless = used_bytes_heuristic(real)
        rows.append((name, total, None, padless, real))
    rows.append(("Oak stage0", OAK_STAGE0_IMAGE, None, None,
                 "documented 512 KiB image (project-oak/oak stage0; "
                 "/work/shared/reference/platform-facts.md section 7); not run"))
    return rows


# ---------------------------------------------------------------- report

def machine_info(env):
    with open("/proc/cpuinfo") as f:
        cpu = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    with open("/proc/meminfo") as f:
        mem = int(re.search(r"MemTotal:\s*(\d+)", f.read()).group(1)) // 1024 // 1024
    kpkg = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}",
                           f"linux-image-{env['kver']}"], capture_output=True, text=True).stdout
    try:
        rev = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
        dirty = sh(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])
        rev += " (uncommitted changes in the tree)" if dirty else ""
    except (subprocess.CalledProcessError, OSError):
        rev = "unknown"
    fw_hash = env["fw_hash"]
    return [
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("machine", f"{cpu}, {os.cpu_count()} CPUs, {mem} GiB RAM, {platform.platform()}"),
        ("load average at start / end", f"{env['load0']} / {' '.join(f'{x:.2f}' for x in os.getloadavg())}"),
        ("QEMU", sh([QEMU, "--version"]).splitlines()[0]),
        ("kernel", f"{kpkg} ({env['bzimage']}, and build/vmlinux extracted from it)"),
        ("host TSC", f"{env['tsc_khz']} kHz (bench/tsc_khz.c)"),
        ("stage0", f"git {rev}, build/stage0.bin sha256 {fw_hash}..."),
        ("command line (every boot)", f"`{env['cmdline']}`"),
    ]


def ratio(a, b):
    return a / b if a and b else float("nan")


def write_report(env, res, path):
    L = []
    w = L.append
    w("# stage0 benchmarks")
    w("")
    w(f"Written by `make bench` (`bench/run.py{' --quick' if env['quick'] else ''}`, "
      f"{env['runs']} interleaved runs per variant). Cells are **median [min-max]** over "
      "the successful runs; n is their number. Times in seconds from QEMU's start "
      "unless marked ms. Benchmarks, not tests: the machine is shared and noisy.")
    w("")
    for k, v in machine_info(env):
        w(f"- **{k}**: {v}")
    w("")
    w("Every boot: `-machine microvm,accel=tcg -m 1G -nographic -nodefaults -no-reboot "
      "-serial stdio`, no `quiet`, and `tsc_early_khz=` the host's TSC rate given to "
      "every firmware alike (under TCG with ACPI Linux cannot calibrate the TSC itself; "
      "stage0 would append its own estimate, qboot and SeaBIOS do not, so the bench passes "
      "one value to all). The test /init (tests/boot/initramfs.py) prints its marker and "
      "runs `reboot -f`.")
    w("")
    fw = res.get("firmware")
    targets = []
    if fw:
        h = env["host_mhz"]
        w("## 1. Firmware, same work")
        w("")
        w(f"Kernel: Debian's bzImage (`{os.path.basename(env['bzimage'])}`, "
          f"{os.path.getsize(env['bzimage']) / MIB:.1f} MiB) or the ELF vmlinux extracted from it "
          f"({os.path.getsize(VMLINUX) / MIB:.1f} MiB); initramfs: the busybox test image "
          f"({os.path.getsize(env['initrd']) / MIB:.1f} MiB, uncompressed newc).")
        w("")
        w("| firmware + kernel | n | kernel's first byte (s) | /init marker (s) | QEMU exit (s) | stage0: reset to jump (ms) |")
        w("| --- | --- | --- | --- | --- | --- |")
        summary = {}
        for key, boots in fw.items():
            good = [b for b in boots if b.ok]
            st = {m: stats([getattr(b, m) for b in good]) for m in ("t_kernel", "t_marker", "t_exit")}
            s0 = [b.stage0_times(h) for b in good]
            jump = stats([t["jump"] for t in s0 if t]) if any(s0) else None
            summary[key] = (st, jump, s0)
            fails = len(boots) - len(good)
            if fails:
                env.setdefault("failures", []).append(
                    f"{key}: {fails} of {len(boots)} runs failed: "
                    + "; ".join(sorted({b.why() for b in boots if not b.ok}))
                    + " (logs: build/bench/logs/*FAILED*); they are left out of every median.")
            w(f"| {key} | {len(good)}{f' ({fails} failed)' if fails else ''} | {fmt(st['t_kernel'])} | "
              f"{fmt(st['t_marker'])} | {fmt(st['t_exit'])} | {fmt(jump, 'ms') if jump else '-'} |")
        w("")
        med = lambda key, m: (summary.get(key, ({}, None, None))[0].get(m) or {}).get("median")  # noqa: E731
        r_pvh = ratio(med("stage0 fw_cfg vmlinux", "t_exit"), med("qboot vmlinux (PVH)", "t_exit"))
        r_pvh_m = ratio(med("stage0 fw_cfg vmlinux", "t_marker"), med("qboot vmlinux (PVH)", "t_marker"))
        r_bz = ratio(med("qboot bzImage", "t_exit"), med("stage0 fw_cfg vmlinux", "t_exit"))
        r_bz_m = ratio(med("qboot bzImage", "t_marker"), med("stage0 fw_cfg vmlinux", "t_marker"))
        r_k = ratio(med("stage0 fw_cfg vmlinux", "t_kernel"), med("qboot vmlinux (PVH)", "t_kernel"))
        targets.append(("stage0 + vmlinux vs qboot + PVH, end to end (exit; /init)", "<= 1.00",
                        f"{r_pvh:.2f}; {r_pvh_m:.2f}", r_pvh <= 1.0))
        r_kv = ratio(med("stage0 -kernel vmlinux", "t_exit"), med("qboot vmlinux (PVH)", "t_exit"))
        targets.append(("stage0 -kernel vmlinux vs qboot + PVH, end to end (exit)", "<= 1.00",
                        f"{r_kv:.2f}", r_kv <= 1.0))
        targets.append(("qboot + bzImage vs stage0 + vmlinux, end to end (exit; /init)", ">= 2.00",
                        f"{r_bz:.2f}x; {r_bz_m:.2f}x", r_bz >= 2.0))
        sp = summary.get("qboot vmlinux (PVH)", ({}, None, None))[0].get("t_exit")
        # Only when every variant it compares booted (a failed variant has no median).
        if sp and None not in [med(k, m) for k in ("stage0 fw_cfg vmlinux", "stage0 -kernel vmlinux")
                               for m in ("t_exit", "t_kernel")] + [med("qboot vmlinux (PVH)", "t_kernel")]:
            env["noise"] = {
                "spread": sp["max"] - sp["min"],
                "d_fw": med("stage0 fw_cfg vmlinux", "t_exit") - sp["median"],
                "d_kv": med("stage0 -kernel vmlinux", "t_exit") - sp["median"],
                "k_fw": med("stage0 fw_cfg vmlinux", "t_kernel") - med("qboot vmlinux (PVH)", "t_kernel"),
                "k_kv": med("stage0 -kernel vmlinux", "t_kernel") - med("qboot vmlinux (PVH)", "t_kernel")}
        w(f"stage0 + vmlinux (fw_cfg) / qboot + PVH: **{r_pvh:.2f}** to QEMU exit, {r_pvh_m:.2f} to "
          f"/init, {r_k:.2f} to the kernel's first byte. qboot + bzImage / stage0 + vmlinux: "
          f"**{r_bz:.2f}x** to exit, {r_bz_m:.2f}x to /init.")
        w("")

        # ---- 2. breakdown and floor
        w("## 2. stage0's firmware phase, step by step, against the DMA floor")
        w("")
        w("From stage0's own log (TSC, rescaled to the host rate). *loads* = the kernel's "
          "and the initramfs' fw_cfg DMA transfers; *rest* = jump - started - loads "
          "(fw_cfg directory, ACPI table-loader, e820, checks, boot_params, and the serial "
          "log). Floor = the same DMA transfers in the `-mem-prealloc` run, where guest RAM "
          "is allocated before reset, so they are the pure copy.")
        w("")
        w("| run | reset to `started` (ms) | kernel DMA (ms) | initramfs DMA (ms) | rest (ms) | reset to jump (ms) | log bytes |")
        w("| --- | --- | --- | --- | --- | --- | --- |")
        rows = {}
        for key in ("stage0 fw_cfg vmlinux", "stage0 -kernel bzImage", "stage0 -kernel vmlinux",
                    "stage0 fw_cfg vmlinux -mem-prealloc"):
            if key not in summary:
                continue
            s0 = [t for t in summary[key][2] if t and t["jump"]]
            if not s0:
                continue
            col = lambda f: stats([f(t) for t in s0])  # noqa: E731
            r = {"started": col(lambda t: t["started"]), "kernel": col(lambda t: t["kernel"] or 0),
                 "initramfs": col(lambda t: t["initramfs"] or 0),
                 "rest": col(lambda t: t["jump"] - t["started"] - (t["kernel"] or 0) - (t["initramfs"] or 0)),
                 "jump": col(lambda t: t["jump"]), "bytes": col(lambda t: t["log_bytes"]),
                 "us": col(lambda t: t["serial_us_per_byte"])}
            rows[key] = r
            w(f"| {key} | {fmt(r['started'], 'ms')} | {fmt(r['kernel'], 'ms')} | {fmt(r['initramfs'], 'ms')} | "
              f"{fmt(r['rest'], 'ms')} | {fmt(r['jump'], 'ms')} | {r['bytes']['median']:.0f} |")
        w("")
        a, p = rows.get("stage0 fw_cfg vmlinux"), rows.get("stage0 fw_cfg vmlinux -mem-prealloc")
        if a and p:
            floor = p["kernel"]["median"] + p["initramfs"]["median"]
            same = a["kernel"]["median"] + a["initramfs"]["median"]
            phase = a["jump"]["median"]
            const = phase - same
            const_p = p["jump"]["median"] - floor
            env["floor"] = (phase, floor, same)
            targets.append(("firmware phase / DMA floor (same bytes, pre-allocated RAM)", "<= 3.0",
                            f"{phase / floor:.1f}", phase / floor <= 3.0))
            targets.append(("constant part (jump - DMA, no prealloc; prealloc)", "< 5 ms",
                            f"{const * 1e3:.1f} ms; {const_p * 1e3:.1f} ms", const < 0.005))
            w(f"Firmware phase {phase * 1e3:.1f} ms against a floor of {floor * 1e3:.1f} ms: "
              f"**{phase / floor:.1f}x**. The same DMA without `-mem-prealloc` takes {same * 1e3:.1f} ms "
              f"({same / floor:.1f}x the floor): QEMU allocates guest RAM on first touch, during "
              f"the copy. Constant part (phase - DMA): **{const * 1e3:.1f} ms** "
              f"({const_p * 1e3:.1f} ms with prealloc), of which reset to `started` is "
              f"{a['started']['median'] * 1e3:.1f} ms. See section 7 for what it is made of.")
            w("")
        # The firmware's own per-step times (its "stage0: steps:" line).
        step_rows = []
        for key in rows:
            s0 = [t for t in summary[key][2] if t and t.get("steps")]
            if s0:
                step_rows.append((key, s0))
        if step_rows:
            names = list(step_rows[0][1][0]["steps"])
            w("Each step from stage0's `stage0: steps:` line (ms, median [min-max]); *load* is the "
              "kernel's and initramfs' DMA, every other step is code and its log lines:")
            w("")
            w("| run | " + " | ".join(names) + " |")
            w("| --- |" + " --- |" * len(names))
            for key, s0 in step_rows:
                cells = [fmt(stats([t["steps"].get(n, 0.0) for t in s0]), "ms") for n in names]
                w(f"| {key} | " + " | ".join(cells) + " |")
            w("")

    sc = res.get("scaling")
    if sc:
        h = env["host_mhz"]
        w("## 3. Scaling with the initramfs size")
        w("")
        w("stage0 with `opt/stage0/elf_kernel`, `-m 2G`; the busybox image plus N MiB of "
          "incompressible padding.")
        w("")
        w("| padding | initramfs | n | initramfs DMA (ms) | reset to jump (ms) | /init marker (s) | QEMU exit (s) |")
        w("| --- | --- | --- | --- | --- | --- | --- |")
        pts = []
        for mib, (size, boots) in sorted(sc.items()):
            good = [b for b in boots if b.ok]
            s0 = [b.stage0_times(h) for b in good]
            dma = stats([t["initramfs"] for t in s0 if t])
            jump = stats([t["jump"] for t in s0 if t])
            mk, ex = stats([b.t_marker for b in good]), stats([b.t_exit for b in good])
            pts.append((size / MIB, dma, jump, mk, ex))
            w(f"| {mib} MiB | {size / MIB:.1f} MiB | {len(good)} | {fmt(dma, 'ms')} | {fmt(jump, 'ms')} | "
              f"{fmt(mk)} | {fmt(ex)} |")
        w("")
        good_pts = [p for p in pts if all(p[1:])]
        if len(good_pts) >= 2:
            xs = [p[0] for p in good_pts]

            def slope(ys):
                mx, my = statistics.mean(xs), statistics.mean(ys)
                return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
            s_dma = slope([p[1]["median"] for p in good_pts])
            s_jump = slope([p[2]["median"] for p in good_pts])
            s_mk = slope([p[3]["median"] for p in good_pts])
            env["scaling_slopes"] = (s_dma, s_jump, s_mk)
            w(f"Cost per MiB (least squares over the medians): initramfs DMA **{s_dma * 1e3:.2f} ms/MiB** "
              f"({1 / s_dma:.0f} MiB/s), firmware phase {s_jump * 1e3:.2f} ms/MiB, boot to /init "
              f"{s_mk * 1e3:.1f} ms/MiB (the kernel unpacking the archive dominates).")
            w("")
        env["scaling_pts"] = pts

    fm = res.get("formats")
    if fm:
        h = env["host_mhz"]
        w("## 4. initramfs format")
        w("")
        w(f"The busybox image plus `/lib/modules/{env['kver']}/kernel/fs` and `kernel/net` (real, "
          "compressible files). gzip -6 and zstd -3 (single thread), the CLIs' defaults; "
          "conversion = compressing the cpio (3 runs).")
        w("")
        w("| format | size (MiB) | conversion (s) | n | firmware phase (ms) | /init marker (s) | QEMU exit (s) |")
        w("| --- | --- | --- | --- | --- | --- | --- |")
        for k, v in fm.items():
            good = [b for b in v["boots"] if b.ok]
            s0 = [b.stage0_times(h) for b in good]
            jump = stats([t["jump"] for t in s0 if t])
            w(f"| {k} | {v['size'] / MIB:.1f} | {fmt(v['conv']) if v['conv'] else '0 (the cpio itself)'} | "
              f"{len(good)} | {fmt(jump, 'ms')} | {fmt(stats([b.t_marker for b in good]))} | "
              f"{fmt(stats([b.t_exit for b in good]))} |")
        w("")
        mk = {k: (stats([b.t_marker for b in fm[k]["boots"] if b.ok]) or {"median": float("nan")})["median"]
              for k in fm}
        best = min(mk, key=mk.get)
        small = min(fm, key=lambda k: fm[k]["size"])
        comp = [k for k in fm if k != "none"]
        fastest_comp = min(comp, key=lambda k: fm[k]["conv"]["median"] if fm[k]["conv"] else 1e9)
        w(f"Fastest to /init: **{best}** ({mk[best]:.2f} s); smallest: **{small}** "
          f"({fm[small]['size'] / MIB:.1f} MiB, {fm['none']['size'] / fm[small]['size']:.1f}x smaller than none, "
          f"{mk[small] - mk['none']:+.2f} s to /init against none); fastest to make of the compressed: "
          f"**{fastest_comp}**. zstd vs gzip: {fm['gzip']['conv']['median'] / fm['zstd']['conv']['median']:.1f}x faster "
          f"to make, {mk['gzip'] - mk['zstd']:+.2f} s to /init.")
        w("")
        rec = "zstd" if fm["zstd"]["size"] <= fm["gzip"]["size"] else "gzip"
        verdict = ("the fastest to /init" if best == "none" else
                   f"{mk['none'] - mk[best]:.2f} s slower to /init than {best} in this run")
        w(f"Default for `stage0 initramfs --compress`: **none** (Sources/Stage0CLI), {verdict}: the "
          f"kernel unpacks it without decompressing, {mk[rec] - mk['none']:+.2f} s against {rec}. When "
          f"size matters more than boot time (what QEMU reads, what fw_cfg moves, what must fit below "
          f"1 GiB and in RAM next to the unpacked rootfs), **{rec}** is the smaller: "
          f"{fm['none']['size'] / fm[rec]['size']:.1f}x smaller than none.")
        w("")
        env["formats_rec"] = rec

    cv = res.get("converter")
    if cv is not None:
        w("## 5. Converter: `stage0 initramfs` against the seed's shell pipeline")
        w("")
        if "pending" in cv:
            w(f"**Pending**: {cv['pending']}. The code path is in `bench/run.py` "
              "(`group_converter`); it runs once the CLI exists.")
            targets.append(("converter vs shell pipeline", ">= 2x, bounded memory", "pending", None))
        else:
            w(f"Input: Debian bookworm minbase + python3 made with mmdebstrap "
              f"({cv['rootfs'] / MIB:.0f} MiB rootfs tar), imported with `podman import` and saved "
              f"as a docker-archive ({cv['archive'] / MIB:.0f} MiB), which `stage0 initramfs` reads "
              f"(`{cv['cli']}`). The pipeline (the seed's): `tar -x` of the rootfs tar, then "
              "`find . | cpio -o -H newc | gzip`. Peak memory: max RSS of the largest process (GNU time); "
              "the pipeline keeps little in memory because it writes the whole tree to disk first.")
            w("")
            if env.get("converter_runs"):
                w(f"Runs: {env['converter_runs']} per converter (`--converter-runs`), not {env['runs']}.")
                w("")
            w("| converter | n | time (s) | peak RSS (MiB) | output (MiB) |")
            w("| --- | --- | --- | --- | --- |")
            for k, v in cv["results"].items():
                rss = v["rss"]
                w(f"| {k} | {v['t']['n']} | {fmt(v['t'])} | {rss['median'] / MIB:.0f} [{rss['min'] / MIB:.0f}-"
                  f"{rss['max'] / MIB:.0f}] | {v['size'] / MIB:.1f} |")
            w("")
            pipe = cv["results"]["shell pipeline (gzip)"]["t"]["median"]
            g = [v for k, v in cv["results"].items() if "gzip" in k and k.startswith("stage0")] or \
                [v for k, v in cv["results"].items() if k.startswith("stage0")]
            sp = pipe / g[0]["t"]["median"]
            targets.append(("converter (gzip) vs shell pipeline", ">= 2x, bounded memory",
                            f"{sp:.2f}x, {g[0]['rss']['max'] / MIB:.0f} MiB peak", sp >= 2.0))
            z = cv["results"].get("stage0 initramfs --compress zstd")
            if z:
                targets.append(("converter (zstd) vs shell pipeline (gzip)",
                                ">= 2x, bounded memory",
                                f"{pipe / z['t']['median']:.2f}x, {z['rss']['max'] / MIB:.0f} MiB peak",
                                pipe / z["t"]["median"] >= 2.0))
            w(f"Speed-up of `stage0 initramfs` (gzip) over the pipeline: **{sp:.2f}x**.")
            w("")

    if res.get("size"):
        w("## 6. Image size")
        w("")
        w("| firmware | image (bytes) | used (bytes) | outside padding runs (bytes) | source |")
        w("| --- | --- | --- | --- | --- |")
        for name, total, used, padless, src in res["size"]:
            w(f"| {name} | {total} ({total // 1024} KiB) | {used if used is not None else '-'} | "
              f"{padless if padless is not None else '-'} | {src} |")
        w("")
        w("\"Outside padding runs\" counts the bytes not in runs of 256 or more equal 0x00/0xFF "
          "bytes, the same rule for every image.")
        w("")
        used = res["size"][0][2]
        targets.append(("used image size", "<= 65536 bytes", f"{used} bytes", used <= 65536))

    tcg = res.get("tcg")
    if tcg:
        w("## 7. What limits the missed targets")
        w("")
        w("Translated code before the kernel's entry (one run each with `-d in_asm`; under TCG every "
          "guest block is translated to host code on its first run):")
        w("")
        w("| firmware | translated blocks | guest instructions |")
        w("| --- | --- | --- |")
        for k, (b, i) in tcg.items():
            w(f"| {k} | {b} | {i} |")
        w("")
    if tcg and env.get("floor"):
        phase, floor, same = env["floor"]
        sb = tcg.get("stage0 fw_cfg vmlinux", (0, 0))[0]
        qb = tcg.get("qboot vmlinux (PVH)", (1, 0))[0]
        w(f"- **Constant part**: stage0 runs {sb} blocks before the jump, qboot {qb} "
          f"({sb / qb:.1f}x): {(phase - same) * 1e6 / max(sb, 1):.0f} us of constant part per block. "
          "Profiled once by hand (`perf record` of QEMU running a build that exits at the jump, "
          "bench/README.md): of the vCPU thread's samples, 64% were TCG's translator (tcg_gen_code, "
          "tcg_optimize, the x86 front end), 13% the host kernel (serial output, first touch of RAM) "
          "and 5% the generated code itself: the constant part is translation, not the firmware's "
          "work. Section 2's steps show it spread over every step. Under KVM it disappears; under "
          "TCG it shrinks only with fewer distinct code paths before the jump.")
        w(f"- **Firmware phase vs floor**: without `-mem-prealloc` the DMA writes into RAM QEMU has not "
          f"allocated yet ({same * 1e3:.1f} ms against {floor * 1e3:.1f} ms pre-allocated, with a long tail "
          "when the host is busy); with `-mem-prealloc` QEMU spends far longer before reset "
          "(section 1's `-mem-prealloc` row is the slowest stage0 row end to end). The floor target is "
          "missed by the constant part, not by the DMA.")
        w("- **stage0 fw_cfg vs qboot PVH end to end**: with `opt/stage0/elf_kernel` QEMU reads the "
          "63 MiB vmlinux into a host buffer at start-up and stage0 copies it again by DMA into "
          "fresh guest RAM; with PVH (and with stage0 `-kernel vmlinux`) QEMU writes the segments "
          "straight into guest RAM once. stage0 `-kernel vmlinux` is the like-for-like comparison "
          "with qboot PVH.")
    nz = env.get("noise")
    if nz:
        w(f"- **End to end is mostly the kernel, and noise**: after the jump the same kernel runs "
          f"2-3 s of emulated work, and on this shared host one variant's QEMU-exit times spread over "
          f"{nz['spread']:.2f} s (qboot PVH, min to max), while the medians of stage0 and qboot PVH differ by "
          f"{nz['d_fw']:+.2f} s (fw_cfg vmlinux) and {nz['d_kv']:+.2f} s (`-kernel vmlinux`). What the "
          f"firmware adds shows best before the kernel's first byte: {nz['k_fw']:+.2f} s (fw_cfg vmlinux: "
          f"QEMU reading the 63 MiB file, the DMA, the constant part) and {nz['k_kv']:+.2f} s "
          "(`-kernel vmlinux`) against qboot PVH.")
    cvr = (res.get("converter") or {}).get("results")
    if cvr:
        gz = cvr.get("stage0 initramfs --compress gzip")
        no = cvr.get("stage0 initramfs --compress none")
        zs = cvr.get("stage0 initramfs --compress zstd")
        pipe = cvr["shell pipeline (gzip)"]["t"]["median"]
        if gz and no and zs:
            w(f"- **Converter**: deflate is {100 * (1 - no['t']['median'] / gz['t']['median']):.0f}% of "
              f"`stage0 initramfs --compress gzip` ({no['t']['median']:.2f} s without compression, "
              f"{gz['t']['median']:.2f} s with), spread over every core in 1 MiB blocks "
              f"(Sources/ContainerImage/GzipCompressor.swift, as pigz does); the pipeline's single gzip "
              f"is its whole critical path. Reading the image and writing the cpio is "
              f"{pipe / no['t']['median']:.0f}x faster than the pipeline; zstd (one thread, level 9) is "
              f"{pipe / zs['t']['median']:.2f}x faster than the pipeline, with the smaller output.")
        w("")
    w("## Targets")
    w("")
    w("| target | goal | measured | met |")
    w("| --- | --- | --- | --- |")
    for name, goal, got, met in targets:
        w(f"| {name} | {goal} | {got} | {'yes' if met else ('pending' if met is None else '**no**')} |")
    w("")
    if env.get("notes") or env.get("failures"):
        w("## Notes")
        w("")
        for n in sorted(set(env.get("failures", []))) + env["notes"]:
            w(f"- {n}")
        w("")
    w("Reproduce: `make bench` (or `python3 bench/run.py [--quick] [--only firmware,size]`); "
      "method in `bench/README.md`; raw per-run data in `build/bench/raw.json`.")
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


def chart(env, res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [k for k in ("firmware", "scaling", "formats") if res.get(k)]
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 5.2), squeeze=False)
    axes = axes[0]
    for ax, panel in zip(axes, panels):
        if panel == "firmware":
            keys = [k for k in res["firmware"] if "prealloc" not in k]
            metrics = (("t_kernel", "kernel's first byte"), ("t_marker", "/init marker"), ("t_exit", "QEMU exit"))
            width = 0.27
            for i, (m, label) in enumerate(metrics):
                meds, lo, hi = [], [], []
                for k in keys:
                    st = stats([getattr(b, m) for b in res["firmware"][k] if b.ok]) or {"median": 0, "min": 0, "max": 0}
                    meds.append(st["median"])
                    lo.append(st["median"] - st["min"])
                    hi.append(st["max"] - st["median"])
                ax.bar([x + (i - 1) * width for x in range(len(keys))], meds, width, yerr=[lo, hi],
                       capsize=3, label=label)
            ax.set_xticks(range(len(keys)))
            ax.set_xticklabels([k.replace(" ", "\n", 1) for k in keys], fontsize=7)
            ax.set_ylabel("seconds from QEMU start (median, min-max)")
            ax.set_title("1. Same kernel, initramfs, cmdline (microvm, TCG)")
            ax.legend(fontsize=8)
        elif panel == "scaling":
            pts = env.get("scaling_pts", [])
            xs = [p[0] for p in pts]
            ax.plot(xs, [p[2]["median"] * 1e3 if p[2] else None for p in pts], "o-", label="stage0 reset to jump (ms)")
            ax.plot(xs, [p[1]["median"] * 1e3 if p[1] else None for p in pts], "s--", label="initramfs DMA (ms)")
            ax2 = ax.twinx()
            ax2.plot(xs, [p[3]["median"] if p[3] else None for p in pts], "^-", color="tab:red", label="/init marker (s)")
            ax2.set_ylabel("/init marker, s from QEMU start", color="tab:red")
            ax.set_xlabel("initramfs size (MiB)")
            ax.set_ylabel("ms")
            ax.set_title("3. stage0 vs initramfs size (-m 2G)")
            h1, l1 = ax.get_legend_handles_labels()
            h2, l2 = ax2.get_legend_handles_labels()
            ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left")
        elif panel == "formats":
            fm = res["formats"]
            keys = list(fm)
            meds = [(stats([b.t_marker for b in fm[k]["boots"] if b.ok]) or {"median": 0})["median"] for k in keys]
            ax.bar(keys, meds, color="tab:green")
            for i, k in enumerate(keys):
                ax.text(i, meds[i], f"{fm[k]['size'] / MIB:.0f} MiB", ha="center", va="bottom", fontsize=8)
            ax.set_ylabel("/init marker, s from QEMU start (median)")
            ax.set_title("4. initramfs format (stage0, same content)")
    fig.suptitle(f"stage0 benchmarks, {env['date']}, {sh([QEMU, '--version']).splitlines()[0]}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def dump_raw(res, path):
    def boots(bs):
        return [{"ok": b.ok, "t_kernel": b.t_kernel, "t_marker": b.t_marker, "t_exit": b.t_exit,
                 "status": b.status} for b in bs]
    raw = {}
    if res.get("firmware"):
        raw["firmware"] = {k: boots(v) for k, v in res["firmware"].items()}
    if res.get("scaling"):
        raw["scaling"] = {str(k): {"size": s, "boots": boots(v)} for k, (s, v) in res["scaling"].items()}
    if res.get("formats"):
        raw["formats"] = {k: {"size": v["size"], "conv": v["conv"], "boots": boots(v["boots"])}
                          for k, v in res["formats"].items()}
    if res.get("converter"):
        raw["converter"] = res["converter"]
    with open(path, "w") as f:
        json.dump(raw, f, indent=1, default=str)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 runs per variant instead of 5")
    ap.add_argument("--runs", type=int, help="runs per variant (default 5, --quick 3)")
    ap.add_argument("--only", default="firmware,scaling,formats,converter,size,tcg",
                    help="comma-separated groups (default: all)")
    ap.add_argument("--stage0-cli", default=os.environ.get("STAGE0_CLI"),
                    help="the stage0 CLI for the converter group (default: build/stage0)")
    ap.add_argument("--converter-runs", type=int,
                    help="runs of the converter group (default: as --runs); each is a full conversion")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite results.md and chart.png from the last run's build/bench/results.pickle")
    ap.add_argument("--results", default=os.path.join(HERE, "results.md"))
    ap.add_argument("--chart", default=os.path.join(HERE, "chart.png"))
    args = ap.parse_args()
    runs = args.runs or (3 if args.quick else 5)
    groups = args.only.split(",")
    if args.report_only:
        with open(os.path.join(WORK, "results.pickle"), "rb") as f:
            env, res = pickle.load(f)
        write_report(env, res, args.results)
        chart(env, res, args.chart)
        log(f"rewrote {os.path.relpath(args.results, ROOT)} and {os.path.relpath(args.chart, ROOT)}")
        return
    os.makedirs(os.path.join(WORK, "logs"), exist_ok=True)
    for f in (STAGE0_BIN, STAGE0_ELF, VMLINUX):
        if not os.path.exists(f):
            sys.exit(f"bench: {f} is missing: run `make firmware kernel` (make bench does)")
    bz = sh([os.path.join(ROOT, "scripts", "find-kernel.sh")])
    kver = os.path.basename(bz)[len("vmlinuz-"):]
    tsc = host_tsc_khz()
    cli = args.stage0_cli or (os.path.join(BUILD, "stage0") if os.access(os.path.join(BUILD, "stage0"), os.X_OK) else None)
    env = {"bzimage": bz, "kver": kver, "tsc_khz": tsc, "host_mhz": tsc / 1000.0, "quick": args.quick,
           "runs": runs, "cli": cli, "converter_runs": args.converter_runs, "cmdline": f"console=ttyS0 tsc_early_khz={tsc}",
           "load0": " ".join(f"{x:.2f}" for x in os.getloadavg()), "notes": [],
           "date": datetime.date.today().isoformat()}
    with open(STAGE0_BIN, "rb") as f:
        env["fw_hash"] = hashlib.sha256(f.read()).hexdigest()[:16]   # before any run
    env["initrd"] = bench_initramfs("initramfs-base.cpio")
    log(f"{runs} runs per variant; host TSC {tsc} kHz; kernel {kver}; groups {','.join(groups)}")
    t0 = time.monotonic()
    res = {}
    if "firmware" in groups:
        res["firmware"] = group_firmware(env, runs)
    if "scaling" in groups:
        res["scaling"] = group_scaling(env, runs)
    if "formats" in groups:
        res["formats"] = group_formats(env, runs)
    if "converter" in groups:
        try:
            res["converter"] = group_converter(env, runs)
        except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
            log(f"converter: {e}")
            res["converter"] = {"pending": f"the converter run failed: {str(e)[-300:]}"}
    if "size" in groups:
        res["size"] = size_rows()
    if "tcg" in groups:
        res["tcg"] = group_tcg(env)
    # stage0's TSC estimate against the host's (it sets stage0's ms and the
    # tsc_early_khz stage0 appends when none is given).
    mhz = [b.stage0_times(env["host_mhz"])["stage0_mhz"] for bs in (res.get("firmware") or {}).values()
           for b in bs if b.ok and b.stage0_times(env["host_mhz"])]
    if mhz:
        off = statistics.median(mhz) / env["host_mhz"] - 1
        env["notes"].append(
            f"stage0's own TSC estimate (0.5 ms against the PIT) was {min(mhz)}-{max(mhz)} MHz "
            f"(median {statistics.median(mhz):.0f}) against the host's {env['host_mhz']:.0f} MHz "
            f"({100 * off:+.1f}%); its logged ms are rescaled here, and the tsc_early_khz it appends "
            "by itself is off by as much.")
    env["notes"].append(f"bench wall time: {time.monotonic() - t0:.0f} s.")
    dump_raw(res, os.path.join(WORK, "raw.json"))
    with open(os.path.join(WORK, "results.pickle"), "wb") as f:
        pickle.dump((env, res), f)
    write_report(env, res, args.results)
    chart(env, res, args.chart)
    log(f"wrote {os.path.relpath(args.results, ROOT)} and {os.path.relpath(args.chart, ROOT)}")


if __name__ == "__main__":
    main()
