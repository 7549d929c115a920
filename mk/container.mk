# Containers (issue 3): the host tool build/stage0, the guest init
# build/stage0-init, their tests and the demo. Included by the Makefile.

CONTAINER_SCRATCH := .build/container
CONTAINER_SOURCES := $(shell find Sources/ContainerImage Sources/Stage0CLI Sources/CZlib Sources/CZstd -type f) Package.swift
INIT_SOURCES      := $(wildcard Sources/ContainerInit/*.swift) Sources/CInitSystem/shim.h Sources/CInitSystem/module.modulemap
SWIFT_EMBEDDED_LIB = $(dir $(shell command -v swiftc))../lib/swift/embedded/x86_64-unknown-linux-gnu

.PHONY: container-tools container-test container-unit-test container-e2e-test container-demo

container-tools: $(BUILD)/stage0 $(BUILD)/stage0-init

$(BUILD)/stage0: $(CONTAINER_SOURCES)
	@mkdir -p $(BUILD)
	swift build -c release --product stage0 --scratch-path $(CONTAINER_SCRATCH)
	cp $(CONTAINER_SCRATCH)/release/stage0 $@

# The guest /init: Embedded Swift for Linux, linked statically with glibc,
# so it runs in any image (even one without a libc) and stays under 1 MB.
$(BUILD)/stage0-init: $(INIT_SOURCES)
	@mkdir -p $(BUILD)
	swiftc -target x86_64-unknown-linux-gnu -enable-experimental-feature Embedded -wmo -Osize \
	    -parse-as-library -module-name stage0_init -I Sources/CInitSystem \
	    $(filter %.swift,$(INIT_SOURCES)) -c -o $(BUILD)/stage0-init.o
	clang -static -o $@ $(BUILD)/stage0-init.o $(SWIFT_EMBEDDED_LIB)/libswiftUnicodeDataTables.a -lm
	strip $@
	@file $@ | grep -q 'statically linked' || { echo "$@ is not statically linked" >&2; exit 1; }

container-test: container-unit-test container-e2e-test

# Unit tests run in `swift test` (host-test) too; this runs only them.
container-unit-test:
	swift test --filter ContainerImageTests

container-e2e-test: deps all container-tools
	tests/container/run_container_tests.sh

container-demo: deps all container-tools
	tests/container/demo.sh
