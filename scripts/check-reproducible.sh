#!/bin/sh
# Builds the firmware a second time from a copy of the tree in another
# directory, with a fresh build cache, and checks that the image is the same
# byte for byte: nothing of the build's path, time or cache leaks into it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
reference="$top/build/stage0.bin"
[ -f "$reference" ] || { echo "check-reproducible: $reference is missing; run 'make firmware' first" >&2; exit 1; }

copy=$(mktemp -d /tmp/stage0-reproducible.XXXXXX)
trap 'rm -rf "$copy"' EXIT
cd "$top"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$copy" 2>/dev/null || true
make -C "$copy" --no-print-directory firmware >"$copy.log" 2>&1 || { cat "$copy.log" >&2; rm -f "$copy.log"; exit 1; }
rm -f "$copy.log"
if cmp -s "$reference" "$copy/build/stage0.bin"; then
    echo "check-reproducible: PASS: a second build in $copy gives the same $(wc -c <"$reference") bytes ($(sha256sum "$reference" | cut -c1-16))"
else
    echo "check-reproducible: FAIL: the image differs between two builds of the same tree" >&2
    cmp "$reference" "$copy/build/stage0.bin" | head -5 >&2
    exit 1
fi
