#!/bin/sh
# Installs the Debian packages stage0's build and tests need, when missing.
# Run as root (CI and these machines are); otherwise prints what to install.
set -eu

packages="qemu-system-x86 linux-image-amd64 busybox-static cpio xz-utils binutils python3"
missing=""
for package in $packages; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: not root; run: sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing

if ! command -v swift >/dev/null 2>&1 && [ ! -x /opt/swift/usr/bin/swift ]; then
    echo "install-deps: no Swift toolchain (swift 6.3 with the Embedded stdlib) found in PATH or /opt/swift" >&2
    exit 1
fi
