#!/bin/sh
# Print the path of the newest installed Debian kernel image
# (/boot/vmlinuz-<version>-amd64), the bzImage that extract-vmlinux.py turns
# into the ELF vmlinux stage0 loads.  "Newest" is by version number (sort -V),
# not by file date, so a reinstalled old kernel does not win.
set -eu

newest=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -n 1)
if [ -z "$newest" ]; then
    echo "find-kernel: error: no /boot/vmlinuz-*-amd64 found:" \
         "apt-get install linux-image-amd64" >&2
    exit 1
fi
if [ ! -r "$newest" ]; then
    echo "find-kernel: error: $newest is not readable (run as a user who can read /boot)" >&2
    exit 1
fi
echo "$newest"
