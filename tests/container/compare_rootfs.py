#!/usr/bin/env python3
"""Compare an initramfs made by `stage0 initramfs` with a reference rootfs
directory (what `umoci unpack` made from the same image), file by file:
type, permission bits, uid/gid, symlink target, content, hard-link groups.

    compare_rootfs.py INITRAMFS ROOTFS_DIR

stage0's own entries (/init, /.stage0, /dev/console and /dev) are left out.
Exits 1 listing every difference.
"""
import hashlib
import os
import stat
import sys

STAGE0_OWN = {"init", ".stage0", ".stage0/config", "dev", "dev/console"}


def read_cpio(path):
    entries = {}
    links = {}
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while True:
        header = data[pos:pos + 110]
        assert header[:6] == b"070701", f"bad cpio magic at {pos}"
        fields = [int(header[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
        ino, mode, uid, gid, nlink, _mtime, size = fields[:7]
        rmaj, rmin, namesize = fields[9], fields[10], fields[11]
        name = data[pos + 110:pos + 110 + namesize - 1].decode()
        pos = (pos + 110 + namesize + 3) & ~3
        body = data[pos:pos + size]
        pos = (pos + size + 3) & ~3
        if name == "TRAILER!!!":
            break
        links.setdefault(ino, []).append(name)
        entries[name] = {"mode": mode, "uid": uid, "gid": gid, "ino": ino, "body": body, "rdev": (rmaj, rmin)}
    # Hard links: later names of an inode carry no data; give them the first's.
    for names in links.values():
        for n in names[1:]:
            entries[n]["body"] = entries[names[0]]["body"]
    return entries, links


def describe_cpio(entry):
    mode = entry["mode"]
    kind = stat.S_IFMT(mode)
    d = {"type": kind, "perm": stat.S_IMODE(mode), "uid": entry["uid"], "gid": entry["gid"]}
    if kind == stat.S_IFREG:
        d["sha"] = hashlib.sha256(entry["body"]).hexdigest()
    elif kind == stat.S_IFLNK:
        d["target"] = entry["body"].decode()
    elif kind in (stat.S_IFCHR, stat.S_IFBLK):
        d["rdev"] = entry["rdev"]
    return d


def describe_dir(root):
    result = {}
    inodes = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            d = {"type": stat.S_IFMT(st.st_mode), "perm": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
            if stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    d["sha"] = hashlib.sha256(f.read()).hexdigest()
                inodes.setdefault(st.st_ino, []).append(rel)
            elif stat.S_ISLNK(st.st_mode):
                d["target"] = os.readlink(full)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                d["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
            result[rel] = d
    return result, sorted(sorted(v) for v in inodes.values() if len(v) > 1)


def main():
    initramfs, rootfs = sys.argv[1], sys.argv[2]
    entries, links = read_cpio(initramfs)
    ours = {name: describe_cpio(e) for name, e in entries.items() if name not in STAGE0_OWN}
    theirs, their_groups = describe_dir(rootfs)
    theirs = {k: v for k, v in theirs.items() if k not in STAGE0_OWN}
    problems = []
    for name in sorted(set(ours) | set(theirs)):
        if name not in ours:
            problems.append(f"missing from the initramfs: {name}")
        elif name not in theirs:
            problems.append(f"only in the initramfs: {name}")
        elif ours[name] != theirs[name]:
            problems.append(f"differs: {name}: initramfs {ours[name]} vs reference {theirs[name]}")
    our_groups = sorted(sorted(n for n in names if n not in STAGE0_OWN) for names in links.values() if len(names) > 1)
    if our_groups != their_groups:
        problems.append(f"hard-link groups differ: initramfs {our_groups} vs reference {their_groups}")
    for p in problems:
        print("compare_rootfs: " + p)
    print(f"compare_rootfs: {len(ours)} entries compared, {len(problems)} differences")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
