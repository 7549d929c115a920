#!/usr/bin/env python3
"""Make the tar, OCI and cpio seed corpora from a real OCI image written by
umoci (Debian 12's umoci 0.4.7): a layer, a config and a manifest (the
script repacks twice, with files removed the second time, but umoci 0.4.7
recorded one layer here), holding a symlink, a hard link, a fifo and a path
longer than ustar's 100 bytes. GNU tar 1.34 writes the rootfs in its gnu,
pax and ustar formats; gzip and zstd compress them as layers are.

    python3 Fuzz/make-container-seeds.py      # needs umoci, tar, gzip, zstd
"""
import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def run(*argv, cwd=None):
    subprocess.run(argv, check=True, cwd=cwd, stdout=subprocess.DEVNULL)


def write(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


def main():
    work = tempfile.mkdtemp(prefix="stage0-seeds-")
    img, bundle = os.path.join(work, "img"), os.path.join(work, "bundle")
    run("umoci", "init", "--layout", img)
    run("umoci", "new", "--image", img + ":latest")
    run("umoci", "unpack", "--rootless", "--image", img + ":latest", bundle)
    root = os.path.join(bundle, "rootfs")
    longdir = os.path.join(root, "usr/share/doc", "very-long-directory-name-" * 4)
    os.makedirs(os.path.join(root, "etc"))
    os.makedirs(os.path.join(root, "bin"))
    os.makedirs(longdir)
    shutil.copy("/etc/os-release", os.path.join(root, "etc/os-release"))
    with open(os.path.join(root, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(root, "etc/hostname"), "w") as f:
        f.write("seed\n")
    with open(os.path.join(longdir, "README"), "w") as f:
        f.write("hi\n")
    os.symlink("../etc/os-release", os.path.join(root, "bin/release"))
    os.link(os.path.join(root, "etc/passwd"), os.path.join(root, "etc/passwd.hard"))
    os.mkfifo(os.path.join(root, "etc/fifo"))
    # Plain tars of the same tree, in GNU tar's three formats.
    for fmt in ("gnu", "pax", "ustar"):
        path = os.path.join(work, fmt + ".tar")
        subprocess.run(["tar", "--format=" + fmt, "-C", root, "-cf", path, "."], check=False)
        data = open(path, "rb").read()
        write("tar", f"gnu-tar-1.34-{fmt}.tar", data)
    write("tar", "gnu-tar-1.34-gnu.tar.gz", gzip.compress(open(os.path.join(work, "gnu.tar"), "rb").read(), mtime=0))
    run("zstd", "-q", "-f", os.path.join(work, "pax.tar"), "-o", os.path.join(work, "pax.tar.zst"))
    write("tar", "gnu-tar-1.34-pax.tar.zst", open(os.path.join(work, "pax.tar.zst"), "rb").read())

    run("umoci", "repack", "--image", img + ":latest", bundle)
    os.remove(os.path.join(root, "etc/hostname"))
    os.remove(os.path.join(root, "etc/fifo"))
    run("umoci", "repack", "--image", img + ":latest", bundle)
    run("umoci", "config", "--image", img + ":latest", "--config.cmd", "/bin/sh", "--config.env", "PATH=/bin",
        "--config.workingdir", "/", "--os", "linux", "--architecture", "amd64")
    run("umoci", "gc", "--layout", img)

    # The OCI archive, as `podman save --format oci-archive` lays it out.
    archive = os.path.join(work, "oci.tar")
    run("tar", "--format=pax", "-C", img, "-cf", archive, "oci-layout", "index.json", "blobs")
    write("tar", "umoci-0.4.7-oci-archive.tar", open(archive, "rb").read())

    def blob(digest):
        return open(os.path.join(img, "blobs", *digest.split(":")), "rb").read()

    index = json.loads(open(os.path.join(img, "index.json")).read())
    manifest_digest = index["manifests"][0]["digest"]
    manifest = json.loads(blob(manifest_digest))
    config_digest = manifest["config"]["digest"]
    layer_digests = [layer["digest"] for layer in manifest["layers"]]
    config = json.loads(blob(config_digest))
    for number, digest in enumerate(layer_digests):
        write("tar", f"umoci-0.4.7-layer-{number + 1}.tar.gz", blob(digest))
        write("tar", f"umoci-0.4.7-layer-{number + 1}.tar", gzip.decompress(blob(digest)))

    # The OCI fuzzer's format: "@@ <path>" files, blobs numbered in order, "sha256:#N" for their digests.
    order = layer_digests + [config_digest, manifest_digest]
    def placeholders(data):
        for number, digest in enumerate(order):
            data = data.replace(digest.encode(), f"sha256:#{number}".encode())
        return data
    sections = [(b"blob", blob(digest)) for digest in layer_digests]
    sections.append((b"blob", blob(config_digest)))
    sections.append((b"blob", placeholders(blob(manifest_digest))))
    sections.append((b"oci-layout", open(os.path.join(img, "oci-layout"), "rb").read()))
    sections.append((b"index.json", placeholders(open(os.path.join(img, "index.json"), "rb").read())))
    write("oci", "umoci-0.4.7-oci-layout", b"\n".join(b"@@ " + path + b"\n" + data for path, data in sections))

    # The same image as a docker-archive (Docker 25's layout: blobs/sha256/..., uncompressed layers
    # named by their diff_id), assembled from umoci's blobs.
    diff_ids = config["rootfs"]["diff_ids"]
    docker = [(b"blob", gzip.decompress(blob(digest))) for digest in layer_digests]
    docker.append((b"blob", blob(config_digest)))
    count = len(layer_digests)
    manifest_json = json.dumps([{"Config": f"blobs/sha256/#{count}", "RepoTags": ["seed:latest"],
                                 "Layers": [f"blobs/sha256/#{n}" for n in range(count)]}]).encode()
    docker.append((b"manifest.json", manifest_json))
    write("oci", "umoci-0.4.7-as-docker-archive", b"\n".join(b"@@ " + path + b"\n" + data for path, data in docker))
    assert all(hashlib.sha256(gzip.decompress(blob(d))).hexdigest() == i.split(":")[1] for d, i in zip(layer_digests, diff_ids))

    # The cpio fuzzer's format: the rootfs's entries as an initramfs would hold them.
    entries = b""
    types = {"fifo": 0, "chr": 1, "dir": 2, "blk": 3, "reg": 4, "lnk": 5}
    inode = 0
    for directory, dirs, files in os.walk(root):
        for name in sorted(dirs) + sorted(files):
            path = os.path.join(directory, name)
            info = os.lstat(path)
            relative = os.path.relpath(path, root).encode()[:255]
            kind = ("lnk" if os.path.islink(path) else "dir" if os.path.isdir(path)
                    else "fifo" if name == "fifo" else "reg")
            data = (os.readlink(path).encode() if kind == "lnk"
                    else open(path, "rb").read() if kind == "reg" else b"")[:65535]
            inode += 1
            entries += struct.pack("<BHIIIBHHB", types[kind], info.st_mode & 0o7777, 0, 0, inode,
                                   2 if kind == "dir" else 1, 0, 0, len(relative))
            entries += relative + struct.pack("<H", len(data)) + data
    entries += struct.pack("<BHIIIBHHB", 1, 0o600, 0, 0, inode + 1, 1, 5, 1, 11) + b"dev/console" + struct.pack("<H", 0)
    write("cpio", "umoci-seed-rootfs-entries", entries)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
