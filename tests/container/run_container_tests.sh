#!/bin/bash
# End-to-end container tests: images built by real tools (buildah/podman
# with vfs storage, skopeo, umoci), converted by build/stage0, compared with
# `umoci unpack`, and run in QEMU microvm under stage0 (about 4-6 s a boot).
#
#   tests/container/run_container_tests.sh [WORKDIR]
#
# Storage is private to WORKDIR (default build/container-tests), so the
# tests touch no system image store. Every check prints "ok" or "FAIL".
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:-$repo/build/container-tests}
stage0=$repo/build/stage0
storage="--storage-driver vfs --root $work/storage --runroot $work/run"
export STAGE0_CACHE=$work/cache
failures=0
checks=0

rm -rf "$work"
mkdir -p "$work/ctx" "$work/cache"
cd "$work" || exit 1

pass() { checks=$((checks + 1)); echo "ok: $1"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $1"; }
expect() { # expect NAME COMMAND...: the command succeeds
    local name=$1; shift
    if "$@" > "$work/last.log" 2>&1; then pass "$name"; else fail "$name"; sed 's/^/    /' "$work/last.log" | tail -20; fi
}
run_vm() { # run_vm NAME EXPECTED_STATUS EXPECTED_OUTPUT_REGEX stage0-run-args...
    local name=$1 want_status=$2 want_output=$3; shift 3
    local output status
    output=$("$stage0" run --firmware "$repo/build/stage0.bin" --kernel "$repo/build/vmlinux" --timeout 120 "$@" 2>&1 </dev/null)
    status=$?
    if [ "$status" = "$want_status" ] && printf '%s\n' "$output" | grep -Eq -- "$want_output"; then
        pass "$name (status $status)"
    else
        fail "$name: status $status (want $want_status), output:"
        printf '%s\n' "$output" | sed 's/^/    /' | tail -20
        echo "    (wanted output matching: $want_output)"
    fi
}

# ---- The images -------------------------------------------------------
# Layer 1: a busybox userland with users, hard links, symlinks, a fifo,
# a device node, a long path, an image /dev/console (a plain file, as
# `docker export` makes) and things the next layer deletes.
mkdir -p ctx/rootfs && cd ctx/rootfs || exit 1
mkdir -p bin etc home/app data/sub data/replaced data/opaque/old dev tmp \
    "data/a-very-long-directory-name-that-goes-on-and-on/and-another-level-that-is-also-quite-long-to-pass-100"
cp /bin/busybox bin/busybox
for tool in sh echo cat ls id pwd sleep ps grep printf env stat test; do ln -s busybox "bin/$tool"; done
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' > etc/passwd
printf 'root:x:0:\napp:x:1000:\nextra:x:2000:app\n' > etc/group
echo "one" > data/hard1 && ln data/hard1 data/hard2
echo "sub" > data/sub/file && ln -s sub/file data/link-to-file && ln -s ../etc data/link-to-etc
echo "gone" > data/gone && echo "old" > data/opaque/old/file && echo "old2" > data/opaque/keep-not
echo "long" > "data/a-very-long-directory-name-that-goes-on-and-on/and-another-level-that-is-also-quite-long-to-pass-100/file-with-a-long-name-too"
mkfifo data/fifo && mknod data/null c 1 3 && chmod 4755 data/sub && chown 1000:1000 home/app data/sub/file
chmod 0640 data/sub/file && mkdir private && chmod 0700 private && : > dev/console && echo "image tmp" > tmp/from-image
cd "$work" || exit 1
tar --numeric-owner --format=gnu -C ctx/rootfs -cf rootfs-gnu.tar .
tar --numeric-owner --format=pax -C ctx/rootfs -cf rootfs-pax.tar .

podman $storage import -q rootfs-gnu.tar localhost/stage0-test-base > /dev/null || { echo "FAIL: podman import"; exit 1; }
# Layer 2 (buildah): deletes (whiteouts), a replaced directory, new files.
container=$(buildah $storage from -q localhost/stage0-test-base)
mnt=$(buildah $storage mount "$container")
rm "$mnt/data/gone" && rm -r "$mnt/data/opaque/old" && echo "new" > "$mnt/data/new" && echo "replaced" > "$mnt/data/hard2.txt"
buildah $storage umount "$container" > /dev/null
buildah $storage config --entrypoint '["/bin/busybox","echo","entrypoint"]' --cmd '["default-cmd"]' \
    --env GREETING=hello-from-env --env PATH=/bin:/usr/bin --workingdir /home/app --user app "$container"
buildah $storage commit -q "$container" localhost/stage0-test > /dev/null
buildah $storage rm "$container" > /dev/null

podman $storage save -q --format docker-archive -o docker.tar localhost/stage0-test
podman $storage save -q --format oci-archive -o oci.tar localhost/stage0-test
podman $storage save -q --format oci-dir -o oci-dir localhost/stage0-test
skopeo copy -q oci-archive:oci.tar oci:oci-layout:latest
skopeo copy -q --dest-compress-format zstd --dest-compress oci-archive:oci.tar oci:oci-zstd:latest
# Layer 3 (umoci): an opaque directory, written as a hand-made layer tar
# (umoci itself never emits one, but it applies them).
cp -r oci-layout oci-opaque
mkdir -p opaque-layer/data/opaque && echo "fresh" > opaque-layer/data/opaque/fresh && : > opaque-layer/data/opaque/.wh..wh..opq
tar --numeric-owner -C opaque-layer -cf opaque-layer.tar data
umoci raw add-layer --image oci-opaque:latest opaque-layer.tar
# A multi-platform index: an arm64 entry first, the real amd64 image second.
cp -r oci-layout oci-multi
python3 - oci-multi <<'PY'
import hashlib, json, os, sys
root = sys.argv[1]
index = json.load(open(os.path.join(root, "index.json")))
amd64 = dict(index["manifests"][0]); amd64["platform"] = {"os": "linux", "architecture": "amd64"}
arm64 = dict(amd64); arm64["platform"] = {"os": "linux", "architecture": "arm64"}
arm64["digest"] = "sha256:" + "0" * 64
inner = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": [arm64, amd64]}).encode()
digest = hashlib.sha256(inner).hexdigest()
open(os.path.join(root, "blobs/sha256", digest), "wb").write(inner)
index["manifests"] = [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + digest,
                       "size": len(inner), "annotations": index["manifests"][0].get("annotations", {})}]
json.dump(index, open(os.path.join(root, "index.json"), "w"))
PY

# ---- Conversion, each format -------------------------------------------
for input in docker.tar oci.tar oci-dir oci-layout oci-zstd oci-opaque oci-multi rootfs-gnu.tar rootfs-pax.tar ctx/rootfs; do
    out=$(echo "$input" | tr '/' '_').cpio
    expect "convert $input" "$stage0" initramfs "$input" -o "$out"
done
expect "gzip output" "$stage0" initramfs oci.tar -o oci.cpio.gz --compress gzip
expect "zstd output" "$stage0" initramfs oci.tar -o oci.cpio.zst --compress zstd
expect "gzip output is the same cpio" sh -c 'gzip -dc oci.cpio.gz | cmp - oci.tar.cpio'
expect "zstd output is the same cpio" sh -c 'zstd -dcq oci.cpio.zst | cmp - oci.tar.cpio'
expect "reproducible: a second conversion gives the same bytes" sh -c "'$stage0' initramfs oci.tar -o again.cpio && cmp again.cpio oci.tar.cpio"
expect "docker-archive and OCI archive give the same initramfs" cmp docker.tar.cpio oci-layout.cpio
expect "whiteouts applied" sh -c '! cpio -it < oci.tar.cpio 2>/dev/null | grep -Eq "^data/gone$|^data/opaque/old"'
expect "image /dev/console replaced by a device" sh -c 'cpio -itv < oci.tar.cpio 2>/dev/null | grep -E "^c.* dev/console$"'

# ---- Against umoci unpack ------------------------------------------------
for layout in oci-layout oci-opaque; do
    rm -rf "bundle-$layout"
    umoci unpack --image "$layout:latest" "bundle-$layout" > /dev/null 2>&1
    expect "same rootfs as umoci unpack ($layout)" python3 "$here/compare_rootfs.py" "$layout.cpio" "bundle-$layout/rootfs"
done
# umoci 0.4 cannot read zstd layers: the zstd image must match the gzip one's unpack.
expect "same rootfs as umoci unpack (zstd layers)" python3 "$here/compare_rootfs.py" oci-zstd.cpio bundle-oci-layout/rootfs
expect "opaque directory hides the lower layers' entries" sh -c '
    list=$(cpio -it < oci-opaque.cpio 2>/dev/null)
    echo "$list" | grep -qx data/opaque/fresh && ! echo "$list" | grep -q "data/opaque/keep-not"'
expect "rootfs tar matches its directory" python3 "$here/compare_rootfs.py" rootfs-gnu.tar.cpio ctx/rootfs
expect "pax tar gives the same as gnu tar" cmp rootfs-pax.tar.cpio rootfs-gnu.tar.cpio

# ---- Errors --------------------------------------------------------------
bad() { # bad NAME EXPECTED_MESSAGE_REGEX stage0-initramfs-args...
    local name=$1 want=$2; shift 2
    local output
    output=$("$stage0" initramfs "$@" -o bad.cpio 2>&1)
    if [ $? -ne 0 ] && echo "$output" | grep -Eq -- "$want" && [ ! -e bad.cpio ] && ! ls bad.cpio.tmp-* > /dev/null 2>&1; then
        pass "$name"
    else
        fail "$name: $output"
    fi
}
cp -r oci-layout oci-corrupt
layer=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["layers"][-1]["digest"].split(":")[1])' \
    "oci-corrupt/blobs/sha256/$(python3 -c 'import json; print(json.load(open("oci-corrupt/index.json"))["manifests"][0]["digest"].split(":")[1])')")
printf 'X' | dd of="oci-corrupt/blobs/sha256/$layer" bs=1 seek=100 conv=notrunc status=none
bad "digest mismatch names the blob" "oci-corrupt: layer 2 \\(blobs/sha256/$layer\\): digest mismatch" oci-corrupt
cp -r oci-layout oci-missing && rm "oci-missing/blobs/sha256/$layer"
bad "missing layer blob" "missing blob sha256:$layer" oci-missing
head -c 3000 docker.tar > truncated.tar
bad "truncated archive" "truncated.tar" truncated.tar
bad "unreadable input" "no-such-image.tar: .*(No such file|no podman)" ./no-such-image.tar
python3 - oci-multi oci-arm <<'PY'
import json, os, shutil, sys, hashlib
src, dst = sys.argv[1], sys.argv[2]
shutil.copytree(src, dst)
index = json.load(open(os.path.join(dst, "index.json")))
inner_digest = index["manifests"][0]["digest"].split(":")[1]
inner = json.load(open(os.path.join(dst, "blobs/sha256", inner_digest)))
inner["manifests"] = [m for m in inner["manifests"] if m["platform"]["architecture"] != "amd64"]
data = json.dumps(inner).encode(); digest = hashlib.sha256(data).hexdigest()
open(os.path.join(dst, "blobs/sha256", digest), "wb").write(data)
index["manifests"][0]["digest"] = "sha256:" + digest; index["manifests"][0]["size"] = len(data)
json.dump(index, open(os.path.join(dst, "index.json"), "w"))
PY
bad "no linux/amd64 image" "no linux/amd64 image .*linux/arm64" oci-arm
mkdir -p escape/a && ln -s ../../.. escape/a/up && tar -C escape -cf escape1.tar a && tar -C escape-x -cf /dev/null . 2>/dev/null
python3 - <<'PY'
import io, tarfile
def add(t, name, data=b"x"):
    info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
with tarfile.open("escape-dotdot.tar", "w", format=tarfile.GNU_FORMAT) as t: add(t, "a/../../etc/passwd")
with tarfile.open("escape-absolute.tar", "w", format=tarfile.GNU_FORMAT) as t: add(t, "/etc/passwd")
with tarfile.open("escape-symlink.tar", "w", format=tarfile.GNU_FORMAT) as t:
    link = tarfile.TarInfo("up"); link.type = tarfile.SYMTYPE; link.linkname = "../.."; t.addfile(link)
    add(t, "up/etc/passwd")
PY
bad "refuses '..'" "escape-dotdot.tar: entry a/../../etc/passwd escapes the root filesystem: '..'" escape-dotdot.tar
bad "refuses absolute paths" "escapes the root filesystem: absolute path" escape-absolute.tar
bad "refuses escapes through symlinks" "entry up/etc/passwd escapes the root filesystem" escape-symlink.tar
python3 - <<'PY'
import io, subprocess, tarfile, zlib
def add(t, name, data=b"x"):
    info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
with tarfile.open("escape-hardlink.tar", "w", format=tarfile.GNU_FORMAT) as t:
    link = tarfile.TarInfo("evil"); link.type = tarfile.LNKTYPE; link.linkname = "../../etc/passwd"; t.addfile(link)
# A size field of 8 GiB in an archive that ends after the header.
with tarfile.open("absurd-size.tar", "w", format=tarfile.GNU_FORMAT) as t: add(t, "small", b"ok")
header = bytearray(open("absurd-size.tar", "rb").read()[:512])
header[124:136] = b"77777777777\0"
header[148:156] = b" " * 8
header[148:156] = b"%06o\0 " % sum(header)
open("absurd-size.tar", "wb").write(bytes(header) + bytes(1024))
# Compressed archives with their stored checksums wrong: gzip's CRC-32, zstd's content checksum.
buffer = io.BytesIO()
with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as t:
    for i in range(20): add(t, f"f{i}", bytes(range(256)) * 40)
raw = buffer.getvalue()
compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
gz = bytearray(compressor.compress(raw) + compressor.flush()); gz[-8] ^= 0xFF
open("bad-crc.tar.gz", "wb").write(gz)
zst = bytearray(subprocess.run(["zstd", "-q", "--check", "-c"], input=raw, capture_output=True, check=True).stdout)
zst[-1] ^= 0xFF
open("bad-checksum.tar.zst", "wb").write(zst)
open("not-compressed-after-all.tar.gz", "wb").write(b"\x1f\x8b\x08\x00" + bytes(60))
PY
bad "refuses hard links out of the root" "escape-hardlink.tar: entry evil escapes the root filesystem: hard link to ../../etc/passwd" escape-hardlink.tar
bad "absurd size in a tar header" "absurd-size.tar: malformed tar archive: archive ends inside an entry's data" absurd-size.tar
bad "gzip CRC mismatch" "bad-crc.tar.gz: corrupt compressed data" bad-crc.tar.gz
bad "zstd checksum mismatch" "bad-checksum.tar.zst: corrupt compressed data" bad-checksum.tar.zst
bad "broken gzip stream" "not-compressed-after-all.tar.gz: corrupt compressed data" not-compressed-after-all.tar.gz
echo "the previous output" > kept.cpio
if ! "$stage0" initramfs bad-crc.tar.gz -o kept.cpio > /dev/null 2>&1 && [ "$(cat kept.cpio)" = "the previous output" ] \
    && ! ls kept.cpio.tmp-* > /dev/null 2>&1; then
    pass "a failed conversion leaves an existing output as it was"
else
    fail "a failed conversion leaves an existing output as it was"
fi

# ---- In QEMU ---------------------------------------------------------------
run_vm "ENTRYPOINT + CMD" 0 "^entrypoint default-cmd$" oci.tar
run_vm "ARGS replace CMD, ENTRYPOINT kept" 0 "^entrypoint from-args with-two$" docker.tar -- from-args with-two
run_vm "Env, WorkingDir, User (name, supplementary groups)" 7 "hello-from-env /home/app 1000 1000 .*2000" oci.tar \
    --entrypoint /bin/sh --cmd '["-c","echo $GREETING $(pwd) $(id -u) $(id -g) $(id -G); exit 7"]'
run_vm "--entrypoint drops the image CMD; numeric uid:gid" 0 "^0:2000 /$" oci.tar --user 0:2000 --workdir / \
    --entrypoint '["/bin/sh","-c","echo $(id -u):$(id -g) $(pwd)"]'
run_vm "non-zero exit status" 42 "" oci.tar --entrypoint '' -- /bin/sh -c "exit 42"
run_vm "not executable: 126" 126 "permission denied" oci.tar --entrypoint '' -- /etc/passwd
run_vm "not found: 127" 127 "executable file not found" oci.tar --entrypoint '' -- no-such-command
run_vm "unknown user: 126" 126 "unable to find user nosuchuser: no matching entries in passwd file" oci.tar \
    --user nosuchuser --entrypoint '' -- /bin/sh -c 'echo ran'
run_vm "working directory is a file: 126" 126 "cannot create the working directory /etc/passwd" oci.tar \
    --workdir /etc/passwd --entrypoint '' -- /bin/sh -c 'echo ran'
run_vm "working directory the user cannot enter: 126" 126 "cannot change to the working directory /private: .*[Pp]ermission denied" oci.tar \
    --user app --workdir /private --entrypoint '' -- /bin/sh -c 'echo ran'
run_vm "orphans are reaped (no zombies)" 0 "^reaped$" oci.tar --entrypoint '' -- /bin/sh -c \
    '(/bin/sh -c "sleep 0" &); (/bin/sh -c "exit 3" &); sleep 1; if ps -o stat | grep -q Z; then echo zombie; exit 1; fi; echo reaped'
run_vm "writes into /tmp (a tmpfs); mounts" 0 "^written tmpfs proc sysfs devtmpfs$" oci.tar --user root --entrypoint '' -- /bin/sh -c \
    'echo written > /tmp/f && cat /tmp/f | tr -d "\n" && for m in /tmp /proc /sys /dev; do printf " %s" $(grep " $m " /proc/mounts | cut -d" " -f3); done; echo'
run_vm "a killed command reports 128+signal" 137 "" oci.tar --entrypoint '' -- /bin/sh -c 'kill -9 $$'
run_vm "a compressed initramfs runs as it is" 0 "^entrypoint default-cmd$" oci.cpio.gz

echo "container tests: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
