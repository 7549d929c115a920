# stage0: `make` builds build/stage0.bin, build/vmlinux and the container
# tools; `make run` boots the demo container; `make test` runs every test.
# Each installs what it needs first.

SWIFT_BIN   ?= $(firstword $(wildcard /opt/swift/usr/bin) $(dir $(shell command -v swift 2>/dev/null)))
export PATH := $(SWIFT_BIN):$(PATH)

BUILD       := build
FW_SCRATCH  := .build/firmware
FW_TRIPLE   := x86_64-unknown-none-elf
FW_ARCHIVE  := $(FW_SCRATCH)/$(FW_TRIPLE)/release/libStage0Firmware.a
SOURCES     := $(shell find Sources -type f) Package.swift toolchain.json
PYTHON      ?= python3
QEMU        ?= qemu-system-x86_64

.PHONY: all firmware kernel deps run run-firmware test host-test boot-test reproducible-test clean
all: firmware kernel container-tools

firmware: $(BUILD)/stage0.bin

# The Swift side: Loader + Firmware + Support for the bare-metal triple.
# The archive is removed first: SwiftPM adds to an existing one, so the object
# of a deleted source file would otherwise stay in it and be linked.
$(FW_ARCHIVE): $(SOURCES)
	rm -f $(FW_ARCHIVE)
	STAGE0_FIRMWARE=1 swift build -c release --triple $(FW_TRIPLE) --toolset toolchain.json \
	    --product Stage0Firmware --scratch-path $(FW_SCRATCH)

# The linker script takes its addresses from memory_layout.h.
$(BUILD)/stage0.ld: linker/stage0.ld.S Sources/Support/include/memory_layout.h
	@mkdir -p $(BUILD)
	clang -E -P -x c -I Sources/Support/include $< -o $@

LINK_FIRMWARE = ld.lld -T $(BUILD)/stage0.ld --gc-sections --orphan-handling=error -static -nostdlib --no-pie \
	    --build-id=none --strip-debug -Map $(@:.elf=.map) --whole-archive $< -o $@

$(BUILD)/stage0.elf: $(FW_ARCHIVE) $(BUILD)/stage0.ld
	$(LINK_FIRMWARE)

$(BUILD)/%.bin: $(BUILD)/%.elf
	objcopy -O binary $< $@
	@$(PYTHON) scripts/image-usage.py $< $@

# The boot tests' test double (Sources/Firmware/TestDouble.swift): the same
# firmware reading its memory map from opt/stage0-test/e820, since QEMU
# always serves etc/e820 (without that file it takes the CMOS path), and
# faulting on purpose when opt/stage0-test/fault says so. Never a product.
FW_TEST_DOUBLE_SCRATCH := .build/firmware-test-double
FW_TEST_DOUBLE_ARCHIVE := $(FW_TEST_DOUBLE_SCRATCH)/$(FW_TRIPLE)/release/libStage0Firmware.a
$(FW_TEST_DOUBLE_ARCHIVE): $(SOURCES)
	rm -f $(FW_TEST_DOUBLE_ARCHIVE)
	STAGE0_FIRMWARE=1 swift build -c release --triple $(FW_TRIPLE) --toolset toolchain.json \
	    --product Stage0Firmware --scratch-path $(FW_TEST_DOUBLE_SCRATCH) -Xswiftc -DSTAGE0_TEST_DOUBLE

$(BUILD)/stage0-test-double.elf: $(FW_TEST_DOUBLE_ARCHIVE) $(BUILD)/stage0.ld
	$(LINK_FIRMWARE)

# The Debian kernel's ELF vmlinux, extracted from its bzImage.
kernel: $(BUILD)/vmlinux
$(BUILD)/vmlinux: scripts/extract-vmlinux.py
	@$(MAKE) --no-print-directory deps
	@mkdir -p $(BUILD)
	$(PYTHON) scripts/extract-vmlinux.py "$$(scripts/find-kernel.sh)" $@

deps:
	@scripts/install-deps.sh

# The demo: a busybox image built with podman, converted by build/stage0,
# booted by build/stage0.bin (mk/container.mk, tests/container/demo.sh).
run: deps all container-demo

# The firmware alone with a busybox initramfs, on the seed's command line.
$(BUILD)/demo-initramfs: tests/boot/initramfs.py
	@mkdir -p $(BUILD)
	$(PYTHON) tests/boot/initramfs.py $@ --demo

run-firmware: deps firmware kernel $(BUILD)/demo-initramfs
	$(QEMU) -machine microvm,accel=tcg -m 1G -nographic -nodefaults -no-reboot -serial stdio \
	    -bios $(BUILD)/stage0.bin \
	    -fw_cfg "name=opt/stage0/elf_kernel,file=$(BUILD)/vmlinux" \
	    -fw_cfg "name=opt/stage0/initramfs,file=$(BUILD)/demo-initramfs" \
	    -fw_cfg "name=opt/stage0/cmdline,string=console=ttyS0 quiet"

# host-test (swift test) runs the loader's and the container tools' unit tests.
test: deps all host-test boot-test container-e2e-test fuzz-smoke reproducible-test

host-test:
	swift test

boot-test: all $(BUILD)/stage0-test-double.bin
	$(PYTHON) tests/boot/run_boot_tests.py --firmware $(BUILD)/stage0.bin --kernel $(BUILD)/vmlinux \
	    --test-double $(BUILD)/stage0-test-double.bin

-include mk/container.mk
-include mk/bench.mk
-include mk/fuzz.mk

# A second build elsewhere must give the same bytes.
reproducible-test: firmware
	scripts/check-reproducible.sh

clean:
	rm -rf $(BUILD) .build
