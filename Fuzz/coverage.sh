#!/bin/bash
# Line coverage reached by a target's corpus (build/fuzz/corpus/<target> and
# Fuzz/corpus/<target>, each input run once), with llvm-cov:
#   Fuzz/coverage.sh elf tar ...    -> build/fuzz/cov/<target>.txt
set -e
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
declare -A file=([elf]=ELFFuzzer [bzimage]=BzImageFuzzer [e820]=E820Fuzzer [placement]=InitramfsPlacementFuzzer
                 [table-loader]=TableLoaderFuzzer [fwcfg-directory]=FwCfgDirectoryFuzzer [tar]=TarFuzzer
                 [oci]=OCIFuzzer [cpio]=CpioFuzzer)
mkdir -p build/fuzz/cov
for t in "$@"; do
  case $t in
    tar|oci|cpio) dir=Sources/ContainerImage; support=Fuzz/Support/ContainerFuzzSupport.swift
                  flags=$(for m in Sources/C*/module.modulemap; do printf -- '-Xcc -fmodule-map-file=%s ' "$m"; done);;
    *) dir=Sources/Loader; support=Fuzz/Support/LoaderFuzzSupport.swift; flags="";;
  esac
  swiftc -sanitize=fuzzer -parse-as-library -Onone -profile-generate -profile-coverage-mapping -D FUZZ_SKIP_KNOWN_BUGS \
      $flags -module-name Cov_${t//-/_} $dir/*.swift Fuzz/Support/FuzzInput.swift $support Fuzz/${file[$t]}.swift -o build/fuzz/cov/$t
  rm -f build/fuzz/cov/$t.profraw
  mkdir -p build/fuzz/corpus/$t
  LLVM_PROFILE_FILE=build/fuzz/cov/$t.profraw SWIFT_BACKTRACE=enable=no \
      build/fuzz/cov/$t -runs=0 build/fuzz/corpus/$t Fuzz/corpus/$t > build/fuzz/cov/$t.run.log 2>&1
  llvm-profdata merge -o build/fuzz/cov/$t.profdata build/fuzz/cov/$t.profraw
  llvm-cov report build/fuzz/cov/$t -instr-profile=build/fuzz/cov/$t.profdata $dir/*.swift > build/fuzz/cov/$t.txt
  echo "$t: $(tail -1 build/fuzz/cov/$t.txt | awk '{print $8 - $9 "/" $8 " lines (" $10 ") of " "'$dir'"}')"
done
