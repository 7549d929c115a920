/// A Linux bzImage (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel
/// Header"): a real-mode setup part of (setup_sects + 1) sectors carrying
/// the setup header, then the protected-mode kernel, which stage0 loads and
/// enters at its 64-bit entry (load address + 0x200). No real-mode code runs.
public struct BzImage: Equatable, Sendable {
    public static let sectorSize: UInt64 = 512
    /// Enough of the file to hold the setup header (0x1F1 + up to 0x7F bytes).
    public static let headerBytes = 0x280
    /// Where the protected-mode part goes (boot.rst: "loaded at 0x100000").
    public static let loadAddress = PhysicalAddress(0x10_0000)
    /// boot.rst, "64-bit Boot Protocol": the entry is 0x200 past the load address.
    public static let entryOffset: UInt64 = 0x200
    static let minimumProtocol: UInt16 = 0x020C       // xloadflags appeared in 2.12
    static let xloadKernel64: UInt16 = 1 << 0

    public let protocolVersion: UInt16
    /// Bytes of the file before the protected-mode part.
    public let setupSize: UInt64
    public let loadFlags: UInt8
    public let xloadFlags: UInt16
    public let initrdAddressMax: UInt64
    public let commandLineLimit: UInt64
    public let kernelAlignment: UInt64
    public let initSize: UInt64
    /// pref_address: where a relocatable kernel decompresses itself to when
    /// loaded lower (its LOAD_PHYSICAL_ADDR).
    public let preferredAddress: UInt64
    /// The end of the setup header within the setup part: 0x202 + byte[0x201].
    public let headerEnd: Int

    /// Parses the setup header from the start of a bzImage (or from QEMU's
    /// SETUP_DATA item, which is that part of the file).
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(BootError) -> BzImage {
        typealias L = BootParamsLayout
        guard bytes.count >= L.headerMagic + 4,
              bytes.loadUnaligned(fromByteOffset: L.headerMagic, as: UInt32.self) == L.headerMagicValue.littleEndian
        else { throw .bzImageNoHeader }
        func read<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            offset + MemoryLayout<T>.size <= bytes.count
                ? T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self)) : 0
        }
        let version = read(L.protocolVersion, UInt16.self)
        let xloadFlags = read(L.xloadFlags, UInt16.self)
        guard version >= minimumProtocol, xloadFlags & xloadKernel64 != 0 else {
            throw .bzImageNo64BitEntry(protocolVersion: version, xloadFlags: xloadFlags)
        }
        let setupSectors = UInt64(bytes[L.setupSectors] == 0 ? 4 : bytes[L.setupSectors])
        let headerEnd = min(0x202 + Int(bytes[0x201]), bytes.count)
        return BzImage(protocolVersion: version, setupSize: (setupSectors + 1) * sectorSize,
                       loadFlags: bytes[L.loadFlags], xloadFlags: xloadFlags,
                       initrdAddressMax: UInt64(read(L.initrdAddressMax, UInt32.self)),
                       commandLineLimit: UInt64(read(L.cmdlineSize, UInt32.self)),
                       kernelAlignment: UInt64(read(L.kernelAlignment, UInt32.self)),
                       initSize: UInt64(read(L.initSize, UInt32.self)),
                       preferredAddress: read(L.preferredAddress, UInt64.self), headerEnd: headerEnd)
    }

    /// The memory the kernel uses before it reads the memory map: the
    /// protected-mode part at `loadAddress`, and init_size bytes (boot.rst,
    /// "init_size") from where it decompresses: the load address, or
    /// pref_address when that is higher (arch/x86/boot/compressed/head_64.S).
    public func footprint(payloadSize: UInt64) -> PhysicalRegion {
        // Saturating: a hostile header must make the footprint fit no RAM, not trap.
        let loaded = BzImage.loadAddress.value
        let decompressAt = max(loaded, preferredAddress)
        let (payloadEnd, payloadOverflow) = loaded.addingReportingOverflow(payloadSize)
        let (initEnd, initOverflow) = decompressAt.addingReportingOverflow(initSize)
        return PhysicalRegion(start: loaded, end: max(payloadOverflow ? UInt64.max : payloadEnd,
                                                      initOverflow ? UInt64.max : initEnd))
    }

    public var entry: PhysicalAddress { BzImage.loadAddress.advanced(by: BzImage.entryOffset) }

    /// Checks that the kernel and its decompression room fit in RAM, clear of the firmware.
    public func checkPlacement(payloadSize: UInt64, in map: E820Map,
                               avoiding reserved: [MemoryReservation]) throws(BootError) {
        let region = footprint(payloadSize: payloadSize)
        if let clash = reserved.first(where: { $0.region.overlaps(region) }) {
            throw .kernelSegmentOverlapsFirmware(index: 0, region: region, use: clash.use, used: clash.region)
        }
        guard map.isUsable(region) else { throw .bzImageDoesNotFit(region: region) }
    }
}

/// What a kernel file is, told by its first bytes.
public enum KernelFormat: Equatable, Sendable {
    case elf, bzImage

    /// `bytes` is the start of the file (at least 0x206 bytes when it has them).
    public static func detect(_ bytes: UnsafeRawBufferPointer) throws(BootError) -> KernelFormat {
        if bytes.count >= 4 && bytes[0] == 0x7F && bytes[1] == 0x45 && bytes[2] == 0x4C && bytes[3] == 0x46 {
            return .elf
        }
        let magic = BootParamsLayout.headerMagic
        if bytes.count >= magic + 4,
           bytes.loadUnaligned(fromByteOffset: magic, as: UInt32.self) == BootParamsLayout.headerMagicValue.littleEndian {
            return .bzImage
        }
        throw .kernelUnknownFormat(magic: Array(bytes.prefix(4)))
    }
}
