#!/bin/sh
# Installs the Debian packages in scripts/debian-packages.txt that are
# missing (apt-get update first). Run as root, as CI and these machines
# are; otherwise it prints the command to run.
set -eu
here=$(dirname "$0")

packages=$(sed -e 's/#.*//' "$here/debian-packages.txt" | tr -s ' \t\n' ' ')
missing=""
for package in $packages; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done

if [ -n "$missing" ]; then
    echo "install-deps: installing:$missing"
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: not root; run: sudo apt-get update && sudo apt-get install -y$missing" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086  # one word per package
    apt-get install -y -q --no-install-recommends $missing
fi

if ! command -v swift >/dev/null 2>&1 && [ ! -x /opt/swift/usr/bin/swift ]; then
    echo "install-deps: no Swift toolchain found (Swift 6.3 with the Embedded stdlib, in PATH or /opt/swift)" >&2
    exit 1
fi
