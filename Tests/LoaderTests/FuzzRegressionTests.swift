// One test per crash the fuzzers (Fuzz/, `make fuzz`) found in the loader:
// each rebuilds the input that crashed, in the smallest form that still
// does, and expects the BootError the firmware should have printed instead.
// The crashing inputs themselves are in Fuzz/crashes.

import Testing
@testable import Loader

@Suite struct FuzzRegressionTests {
    /// A setup header that passes BzImage.parse: "HdrS", protocol 2.15, XLF_KERNEL_64.
    static func bzImageHeader(preferredAddress: UInt64, initSize: UInt32) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: BzImage.headerBytes)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { header.replaceSubrange(offset..<(offset + $0.count), with: $0) }
        }
        header[BootParamsLayout.setupSectors] = 39
        header[0x201] = 0x6A
        put(BootParamsLayout.headerMagicValue, at: BootParamsLayout.headerMagic)
        put(UInt16(0x020F), at: BootParamsLayout.protocolVersion)
        put(UInt16(1), at: BootParamsLayout.xloadFlags)
        put(preferredAddress, at: BootParamsLayout.preferredAddress)
        put(initSize, at: BootParamsLayout.initSize)
        return header
    }

    /// Fuzz/crashes/bzimage-crash-52b375072af08684075bce064be9b5190b86b45f:
    /// pref_address 0xFFFFFFFFFFFFFFFF with init_size 0xFFFFFFFF made
    /// BzImage.footprint's `decompressAt + initSize` overflow and trap in
    /// checkPlacement (in the firmware: a silent stop before any message).
    /// The footprint must saturate, and the kernel not fit.
    @Test func bzImagePreferredAddressPlusInitSizePast2To64() throws {
        let header = Self.bzImageHeader(preferredAddress: UInt64.max, initSize: UInt32.max)
        let image = try header.withUnsafeBytes { try BzImage.parse($0) }
        let map = E820Map([E820Entry(PhysicalRegion(start: 0, end: 256 * mebibyte), .ram)])
        let footprint = image.footprint(payloadSize: 8_226_752)
        #expect(footprint.start == BzImage.loadAddress)
        #expect(footprint.end.value == UInt64.max)
        #expect(throws: BootError.bzImageDoesNotFit(region: footprint)) {
            try image.checkPlacement(payloadSize: 8_226_752, in: map, avoiding: [])
        }
    }

    /// The same sum, one short of 2^64 (no overflow), must still be refused.
    @Test func bzImageFootprintEndingJustBelow2To64() throws {
        let header = Self.bzImageHeader(preferredAddress: UInt64.max - 0xFFFF_FFFF, initSize: UInt32.max)
        let image = try header.withUnsafeBytes { try BzImage.parse($0) }
        let map = E820Map([E820Entry(PhysicalRegion(start: 0, end: 256 * mebibyte), .ram)])
        #expect(throws: BootError.self) {
            try image.checkPlacement(payloadSize: 8_226_752, in: map, avoiding: [])
        }
    }

    /// Fuzz/crashes/placement-crash-9e2b3aa3dcf1adf5c63b47349fe972ecdd254bd2:
    /// with a ceiling in the last 64 MiB below 2^64 (the public API allows
    /// any; the firmware's is at most 1 GiB), suggestedMemory's round-up
    /// `needed + granule - 1` overflowed and trapped. There is no -m to
    /// suggest then: the error must carry nil.
    @Test func initramfsSuggestedMemoryRoundUpPast2To64() {
        let size: UInt64 = 0xFFFF_FFFF_FF00_0000
        #expect(throws: BootError.initramfsDoesNotFit(size: size, largestFree: 0, ceiling: UInt64.max, suggestedMemory: nil)) {
            try InitramfsPlacement.place(size: size, in: E820Map([]), avoiding: [], below: PhysicalAddress(UInt64.max))
        }
    }

    /// Fuzz/crashes/placement-crash-890cf3de39eabb695fa8bc1aadff47ae4101468c:
    /// `size &+ roomForFirmwareTables` wrapped for a size within 1 MiB of
    /// 2^64, so the error suggested "-m 0" (or 64 MiB) for an initramfs no
    /// RAM can hold, below the firmware's own 1 GiB ceiling.
    @Test func initramfsSuggestedMemoryForSizeNear2To64() {
        let size: UInt64 = 0xFFFF_FFFF_FFF0_0000
        let ceiling = InitramfsPlacement.ceiling(initrdAddressMax: 0xFF00_FFDF)
        #expect(throws: BootError.initramfsDoesNotFit(size: size, largestFree: 0, ceiling: gibibyte, suggestedMemory: nil)) {
            try InitramfsPlacement.place(size: size, in: E820Map([]), avoiding: [], below: ceiling)
        }
        #expect(throws: BootError.initramfsDoesNotFit(size: UInt64.max - 4096, largestFree: 0, ceiling: gibibyte,
                                                      suggestedMemory: nil)) {
            try InitramfsPlacement.place(size: UInt64.max - 4096, in: E820Map([]), avoiding: [], below: ceiling)
        }
    }
}
