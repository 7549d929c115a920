#!/bin/sh
# The seed's interface: docker_to_initramfs.sh IMAGE OUT
# IMAGE is an image name a local podman/docker can save, or any archive or
# directory `stage0 initramfs` reads. Extra flags go to `stage0 initramfs`.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 IMAGE OUT [stage0 initramfs flags...]" >&2
    exit 2
fi
image=$1
out=$2
shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
tool=${STAGE0:-$here/build/stage0}
if [ ! -x "$tool" ]; then
    echo "$0: $tool is missing; run: make container-tools" >&2
    exit 1
fi
exec "$tool" initramfs "$image" -o "$out" "$@"
