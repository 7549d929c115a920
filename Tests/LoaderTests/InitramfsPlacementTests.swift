// Where the initramfs goes: as high as possible below the ceiling
// (min(1 GiB, initrd_addr_max + 1)), page aligned, in RAM, clear of the
// kernel and the firmware.

import Testing
@testable import Loader

/// What the firmware keeps in RAM (memory_layout.h) and the Debian kernel's segments.
let firmwareRegions = [
    PhysicalRegion(start: 0x1000, end: 0x7000),      // page tables
    PhysicalRegion(start: 0x7000, end: 0x8000),      // zero page
    PhysicalRegion(start: 0x8000, end: 0x1_0000),    // command line
    PhysicalRegion(start: 0x1_0000, end: 0x3_0000),  // image
    PhysicalRegion(start: 0x3_0000, end: 0x4_0000),  // stack
    PhysicalRegion(start: 0x4_0000, end: 0x8_0000),  // heap
    PhysicalRegion(start: 0xA_0000, end: 0x10_0000), // legacy area
]
let kernelRegions = DebianKernel.segments.map(\.memory)
let bootOccupied = firmwareRegions + kernelRegions
let oneGiB = PhysicalAddress(gibibyte)

func place(_ size: UInt64, in map: E820Map, avoiding occupied: [PhysicalRegion] = bootOccupied,
           below ceiling: PhysicalAddress = oneGiB) throws(BootError) -> PhysicalRegion {
    try InitramfsPlacement.place(size: size, in: map, avoiding: occupied, below: ceiling)
}

/// The size of build/demo-initramfs.
let demoSize: UInt64 = 0x1E_4DD8

@Suite("initramfs placement")
struct InitramfsPlacementTests {
    @Test("it goes as high as possible below the 1 GiB ceiling, page aligned (-m 2G)")
    func highestBelowCeiling() throws {
        let region = try place(demoSize, in: microvmMap(ram: 2 * gibibyte))
        #expect(region == PhysicalRegion(start: PhysicalAddress(0x3FE1_B000), size: demoSize))
        #expect(region.start.value % 4096 == 0)
        #expect(region.end <= oneGiB)
        #expect(oneGiB.value - region.end.value < 4096)
    }

    @Test("with less than 1 GiB of RAM (-m 512M) it goes at the top of RAM")
    func topOfSmallRAM() throws {
        let region = try place(demoSize, in: microvmMap(ram: 512 * mebibyte))
        #expect(region.start == PhysicalAddress(0x1FE1_B000))
        #expect(region.end.value <= 512 * mebibyte)
    }

    @Test("RAM above 4 GiB is above the ceiling: with only that, nothing fits")
    func ramAboveFourGiBOnly() {
        let map = E820Map([E820Entry(PhysicalRegion(start: 4 * gibibyte, end: 5 * gibibyte), .ram)])
        #expect(throws: BootError.initramfsDoesNotFit(size: demoSize, largestFree: 0, ceiling: gibibyte,
                                                      suggestedMemory: 128 * mebibyte)) {
            try place(demoSize, in: map)
        }
    }

    @Test("with -m 8G (RAM 0..3G and 4G..9G) it still goes below 1 GiB")
    func largeMachine() throws {
        let map = E820Map([E820Entry(PhysicalRegion(start: 0, end: 3 * gibibyte), .ram),
                           E820Entry(PhysicalRegion(start: 4 * gibibyte, end: 9 * gibibyte), .ram)])
        #expect(try place(demoSize, in: map).start == PhysicalAddress(0x3FE1_B000))
    }

    @Test("it avoids the kernel's segments and the firmware's regions")
    func avoidsOccupied() throws {
        // -m 128M: above the kernel (which ends at 0x4a00000) there are 54 MiB.
        let map = microvmMap(ram: 128 * mebibyte)
        let topOfRAM = try place(20 * mebibyte, in: map)
        #expect(topOfRAM == PhysicalRegion(start: PhysicalAddress(108 * mebibyte), size: 20 * mebibyte))
        // Something else at the top pushes it down, still clear of everything.
        let acpi = PhysicalRegion(start: 120 * mebibyte, end: 128 * mebibyte)
        let below = try place(20 * mebibyte, in: map, avoiding: bootOccupied + [acpi])
        #expect(below == PhysicalRegion(start: PhysicalAddress(100 * mebibyte), size: 20 * mebibyte))
        for used in bootOccupied + [acpi] { #expect(!below.overlaps(used)) }
        #expect(map.isUsable(below))
    }

    @Test("when the space above the kernel is too small it goes below the kernel")
    func belowTheKernel() throws {
        let map = microvmMap(ram: 80 * mebibyte)    // 6 MiB above the kernel, 15 MiB between 1 MiB and 16 MiB
        let region = try place(8 * mebibyte, in: map)
        #expect(region == PhysicalRegion(start: PhysicalAddress(8 * mebibyte), size: 8 * mebibyte))
    }

    @Test("an initramfs exactly the size of the free space fits")
    func exactlyFits() throws {
        let map = E820Map([E820Entry(PhysicalRegion(start: mebibyte, end: 64 * mebibyte), .ram)])
        let kernel = [PhysicalRegion(start: 16 * mebibyte, end: 48 * mebibyte)]
        #expect(try place(16 * mebibyte, in: map, avoiding: kernel)
                == PhysicalRegion(start: PhysicalAddress(48 * mebibyte), size: 16 * mebibyte))
        // Not a whole number of pages: its start rounds down onto the free space's first page.
        #expect(try place(16 * mebibyte - 0x800, in: map, avoiding: kernel).start == PhysicalAddress(48 * mebibyte))
    }

    @Test("one byte too big fails with initramfsDoesNotFit: its size, the largest free space and a -m that fits")
    func oneByteTooBig() throws {
        let map = E820Map([E820Entry(PhysicalRegion(start: mebibyte, end: 64 * mebibyte), .ram)])
        let kernel = [PhysicalRegion(start: 16 * mebibyte, end: 48 * mebibyte)]
        let error = BootError.initramfsDoesNotFit(size: 16 * mebibyte + 1, largestFree: 16 * mebibyte,
                                                  ceiling: gibibyte, suggestedMemory: 128 * mebibyte)
        #expect(throws: error) { try place(16 * mebibyte + 1, in: map, avoiding: kernel) }
        // The suggestion works.
        let bigger = E820Map([E820Entry(PhysicalRegion(start: mebibyte, end: 128 * mebibyte), .ram)])
        #expect(try place(16 * mebibyte + 1, in: bigger, avoiding: kernel).end.value <= 128 * mebibyte)
        // Sizes print rounded down to a tenth, so 16 MiB + 1 byte reads as "16 MiB".
        #expect(error.what == "the initramfs (16 MiB) does not fit below 1 GiB: the largest free space there is 16 MiB")
        #expect(error.hint == "give the VM more memory: -m 128M or more")
    }

    @Test("the suggested -m is enough for the real kernel and a 600 MiB initramfs on -m 512M")
    func suggestionForRealKernel() throws {
        let size = 600 * mebibyte
        #expect(throws: BootError.initramfsDoesNotFit(size: size, largestFree: 512 * mebibyte - 0x4A0_0000,
                                                      ceiling: gibibyte, suggestedMemory: 704 * mebibyte)) {
            try place(size, in: microvmMap(ram: 512 * mebibyte))
        }
        _ = try place(size, in: microvmMap(ram: 704 * mebibyte))
    }

    @Test("the suggested -m allows for page alignment after an unaligned kernel end")
    func suggestionAllowsForAlignment() throws {
        let kernel = [PhysicalRegion(start: 16 * mebibyte, end: 64 * mebibyte + 0x800)]
        let size = 64 * mebibyte - 0x800
        let map = E820Map([E820Entry(PhysicalRegion(start: mebibyte, end: 128 * mebibyte), .ram)])
        var suggested: UInt64? = nil
        do { _ = try place(size, in: map, avoiding: kernel) } catch {
            if case .initramfsDoesNotFit(_, _, _, let memory) = error { suggested = memory }
        }
        let memory = try #require(suggested)
        #expect(memory > 128 * mebibyte)
        let bigger = E820Map([E820Entry(PhysicalRegion(start: mebibyte, end: memory), .ram)])
        _ = try place(size, in: bigger, avoiding: kernel)
    }

    @Test("one too big to fit below 1 GiB at any -m gives no suggested -m")
    func neverFits() {
        let size = 960 * mebibyte                     // 0x4a00000 + 960 MiB > 1 GiB
        let error = BootError.initramfsDoesNotFit(size: size, largestFree: gibibyte - 0x4A0_0000, ceiling: gibibyte,
                                                  suggestedMemory: nil)
        #expect(throws: error) { try place(size, in: microvmMap(ram: 2 * gibibyte)) }
        #expect(error.hint.contains("cannot fit below 1 GiB"))
        #expect(error.hint.contains("960 MiB"))
    }

    @Test("the ceiling is initrd_addr_max + 1 when that is below 1 GiB")
    func ceilingFromInitrdAddressMax() throws {
        #expect(InitramfsPlacement.ceiling(initrdAddressMax: 0x7FFF_FFFF) == oneGiB)
        #expect(InitramfsPlacement.ceiling(initrdAddressMax: 0xFFFF_FFFF) == oneGiB)
        #expect(InitramfsPlacement.ceiling(initrdAddressMax: 0x37FF_FFFF) == PhysicalAddress(0x3800_0000))
        let ceiling = InitramfsPlacement.ceiling(initrdAddressMax: 0x37FF_FFFF)
        let region = try place(demoSize, in: microvmMap(ram: 2 * gibibyte), below: ceiling)
        #expect(region.start == PhysicalAddress(0x37E1_B000))
        #expect(region.end <= ceiling)
    }

    @Test("a zero-size initramfs takes no space")
    func zeroSize() throws {
        let region = try place(0, in: microvmMap(ram: 2 * gibibyte))
        #expect(region.size == 0)
        #expect(region.start <= oneGiB)
        #expect(region.start.value % 4096 == 0)
    }
}
