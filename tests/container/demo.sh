#!/bin/sh
# `make run`'s container demo: builds a busybox-static image with buildah
# (vfs storage private to build/demo), converts it with build/stage0 and
# boots it under build/stage0.bin; prints the container's greeting and
# exits with its status (0).
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$repo/build/demo
storage="--storage-driver vfs --root $work/storage --runroot $work/run"
mkdir -p "$work/context/bin"
cp /bin/busybox "$work/context/bin/busybox"
cat > "$work/context/Containerfile" <<'CONTAINERFILE'
FROM scratch
COPY bin/busybox /bin/busybox
ENV GREETING="Hello from a container, booted by stage0"
ENTRYPOINT ["/bin/busybox", "sh", "-c"]
CMD ["echo \"$GREETING (Linux $(busybox uname -r), container PID $$)\""]
CONTAINERFILE
buildah $storage bud -q -t localhost/stage0-demo "$work/context" > /dev/null
rm -f "$work/demo-image.tar"
podman $storage save -q --format oci-archive -o "$work/demo-image.tar" localhost/stage0-demo
"$repo/build/stage0" initramfs "$work/demo-image.tar" -o "$repo/build/demo-container.cpio" --compress gzip
exec "$repo/build/stage0" run "$repo/build/demo-container.cpio" \
    --firmware "$repo/build/stage0.bin" --kernel "$repo/build/vmlinux" --timeout 120
