# Host fuzzing (issue 6): libFuzzer targets built with swiftc
# -sanitize=fuzzer,address. Fuzz/README.md says what each one drives.
#
#   make fuzz             every target for FUZZ_SECONDS (600) each, one after another
#   make fuzz-<target>    one target for FUZZ_SECONDS
#   make fuzz-smoke       every target: the committed crash inputs and seeds, then
#                         FUZZ_SMOKE_SECONDS (10) of random inputs; fails on a crash
#
# Working corpora and logs go to build/fuzz; new crash inputs to Fuzz/crashes.

FUZZ_SECONDS        ?= 600
FUZZ_SMOKE_SECONDS  ?= 10
FUZZ_BUILD          := $(BUILD)/fuzz
FUZZ_SWIFTC_FLAGS   ?= -sanitize=fuzzer,address -parse-as-library -O -use-ld=lld
# The Swift runtime's backtracer hangs under ASan+libFuzzer; libFuzzer reports crashes itself.
FUZZ_ENV            := SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0
FUZZ_OPTIONS        := -timeout=10 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1

FUZZ_LOADER_TARGETS    := elf bzimage e820 placement table-loader fwcfg-directory
FUZZ_CONTAINER_TARGETS := tar oci cpio
FUZZ_TARGETS           := $(FUZZ_LOADER_TARGETS) $(FUZZ_CONTAINER_TARGETS)

FUZZ_SRC_elf             := Fuzz/ELFFuzzer.swift
FUZZ_SRC_bzimage         := Fuzz/BzImageFuzzer.swift
FUZZ_SRC_e820            := Fuzz/E820Fuzzer.swift
FUZZ_SRC_placement       := Fuzz/InitramfsPlacementFuzzer.swift
FUZZ_SRC_table-loader    := Fuzz/TableLoaderFuzzer.swift
FUZZ_SRC_fwcfg-directory := Fuzz/FwCfgDirectoryFuzzer.swift
FUZZ_SRC_tar             := Fuzz/TarFuzzer.swift
FUZZ_SRC_oci             := Fuzz/OCIFuzzer.swift
FUZZ_SRC_cpio            := Fuzz/CpioFuzzer.swift

FUZZ_LOADER_SOURCES    = $(wildcard Sources/Loader/*.swift) Fuzz/Support/FuzzInput.swift Fuzz/Support/LoaderFuzzSupport.swift
FUZZ_CONTAINER_SOURCES = $(wildcard Sources/ContainerImage/*.swift) Fuzz/Support/FuzzInput.swift Fuzz/Support/ContainerFuzzSupport.swift
# Its system-library modules (zlib, zstd, libcrypto...); each module map links its library.
FUZZ_CONTAINER_FLAGS    = $(foreach map,$(wildcard Sources/C*/module.modulemap),-Xcc -fmodule-map-file=$(map))

.PHONY: fuzz fuzz-smoke fuzz-build $(FUZZ_TARGETS:%=fuzz-%) $(FUZZ_TARGETS:%=fuzz-smoke-%)

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/bin/%)

.SECONDEXPANSION:
$(FUZZ_LOADER_TARGETS:%=$(FUZZ_BUILD)/bin/%): $(FUZZ_BUILD)/bin/%: $$(FUZZ_LOADER_SOURCES) $$(FUZZ_SRC_$$*)
	@mkdir -p $(@D)
	swiftc $(FUZZ_SWIFTC_FLAGS) -module-name Fuzz_$(subst -,_,$*) $^ -o $@

$(FUZZ_CONTAINER_TARGETS:%=$(FUZZ_BUILD)/bin/%): $(FUZZ_BUILD)/bin/%: $$(FUZZ_CONTAINER_SOURCES) $$(FUZZ_SRC_$$*)
	@mkdir -p $(@D)
	swiftc $(FUZZ_SWIFTC_FLAGS) $(FUZZ_CONTAINER_FLAGS) -module-name Fuzz_$(subst -,_,$*) $^ -o $@

# One target at a time (each takes a core); a crash in one does not stop the others.
fuzz:
	@failed=""; for target in $(FUZZ_TARGETS); do \
	    $(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) fuzz-$$target || failed="$$failed $$target"; done; \
	    if [ -n "$$failed" ]; then echo "fuzz: crashes in:$$failed (inputs in Fuzz/crashes)"; exit 1; fi

$(FUZZ_TARGETS:%=fuzz-%): fuzz-%: $(FUZZ_BUILD)/bin/%
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/logs Fuzz/crashes
	@echo "fuzz $*: $(FUZZ_SECONDS) s, log in $(FUZZ_BUILD)/logs/$*.log"
	@$(FUZZ_ENV) $< $(FUZZ_OPTIONS) -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=Fuzz/crashes/$*- \
	    $(FUZZ_BUILD)/corpus/$* Fuzz/corpus/$* > $(FUZZ_BUILD)/logs/$*.log 2>&1; \
	    status=$$?; grep -E '^#[0-9]+ +DONE|^stat::number_of_executed_units|SUMMARY|Test unit written' $(FUZZ_BUILD)/logs/$*.log; exit $$status

fuzz-smoke: $(FUZZ_TARGETS:%=fuzz-smoke-%)

# The committed crash inputs first (each must pass once its fix is in), then
# the seeds and a short random run from a fresh corpus.
$(FUZZ_TARGETS:%=fuzz-smoke-%): fuzz-smoke-%: $(FUZZ_BUILD)/bin/%
	@rm -rf $(FUZZ_BUILD)/smoke/$* && mkdir -p $(FUZZ_BUILD)/smoke/$*
	@crashes="$(wildcard Fuzz/crashes/$*-*)"; if [ -n "$$crashes" ]; then \
	    $(FUZZ_ENV) $< $$crashes > $(FUZZ_BUILD)/smoke/$*.crashes.log 2>&1 \
	    || { echo "fuzz-smoke $*: a committed crash input still crashes:"; tail -n 30 $(FUZZ_BUILD)/smoke/$*.crashes.log; exit 1; }; fi
	@$(FUZZ_ENV) $< $(FUZZ_OPTIONS) -max_total_time=$(FUZZ_SMOKE_SECONDS) -artifact_prefix=$(FUZZ_BUILD)/smoke/$*- \
	    $(FUZZ_BUILD)/smoke/$* Fuzz/corpus/$* > $(FUZZ_BUILD)/smoke/$*.log 2>&1 \
	    || { echo "fuzz-smoke $*: crash:"; tail -n 40 $(FUZZ_BUILD)/smoke/$*.log; exit 1; }
	@echo "fuzz-smoke $*: ok ($$(grep -m1 -o 'number_of_executed_units: [0-9]*' $(FUZZ_BUILD)/smoke/$*.log | cut -d' ' -f2) runs)"
