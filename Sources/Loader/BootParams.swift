/// Linux's boot_params, the "zero page" (Documentation/arch/x86/zero-page.rst),
/// with the setup header at 0x1F1 (Documentation/arch/x86/boot.rst, "The
/// Real-Mode Kernel Header"). Offsets are pinned by a unit test.
public enum BootParamsLayout {
    public static let size = 4096

    public static let acpiRSDPAddress = 0x070       // u64
    public static let extRamdiskImage = 0x0C0       // u32, high half of ramdisk_image
    public static let extRamdiskSize = 0x0C4        // u32
    public static let extCmdLinePointer = 0x0C8     // u32
    public static let e820EntryCount = 0x1E8        // u8
    public static let sentinel = 0x1EF              // u8, must stay 0
    public static let setupSectors = 0x1F1          // u8
    public static let bootFlag = 0x1FE              // u16, 0xAA55
    public static let headerMagic = 0x202           // u32, "HdrS"
    public static let protocolVersion = 0x206       // u16
    public static let typeOfLoader = 0x210          // u8
    public static let loadFlags = 0x211             // u8
    public static let code32Start = 0x214           // u32
    public static let ramdiskImage = 0x218          // u32
    public static let ramdiskSize = 0x21C           // u32
    public static let cmdLinePointer = 0x228        // u32
    public static let initrdAddressMax = 0x22C      // u32
    public static let kernelAlignment = 0x230       // u32
    public static let relocatableKernel = 0x234     // u8
    public static let xloadFlags = 0x236            // u16
    public static let cmdlineSize = 0x238           // u32
    public static let setupData = 0x250             // u64
    public static let preferredAddress = 0x258      // u64
    public static let initSize = 0x260              // u32
    public static let e820Table = 0x2D0             // 128 x 20 bytes
    public static let e820TableEntries = 128

    public static let bootFlagValue: UInt16 = 0xAA55
    public static let headerMagicValue: UInt32 = 0x5372_6448     // "HdrS"
    /// The protocol this loader implements: 2.15 (ext_* fields, acpi_rsdp_addr).
    public static let implementedProtocol: UInt16 = 0x020F
    /// "Undefined" boot loader ID; 0 would make Linux ignore the initrd.
    public static let loaderTypeUndefined: UInt8 = 0xFF
    public static let loadFlagLoadedHigh: UInt8 = 1 << 0
    /// x86 COMMAND_LINE_SIZE (2048) less the NUL: the limit of a kernel that
    /// carries no setup header to say otherwise, as an ELF vmlinux does not.
    public static let defaultCommandLineLimit: UInt64 = 2047
    /// Linux's initrd_addr_max since protocol 2.03.
    public static let defaultInitrdAddressMax: UInt64 = 0x7FFF_FFFF
}

/// What goes into boot_params for a 64-bit entry.
public struct BootParams {
    public var commandLine: PhysicalAddress
    public var ramdisk: PhysicalRegion?
    public var memoryMap: E820Map
    public var acpiRSDP: PhysicalAddress?
    /// A bzImage's setup part up to the end of its setup header; nil for an
    /// ELF vmlinux, which brings no header and gets one built from scratch.
    public var setupHeader: UnsafeRawBufferPointer?
    /// Where a bzImage's protected-mode part was loaded.
    public var code32Start: PhysicalAddress?

    public init(commandLine: PhysicalAddress, ramdisk: PhysicalRegion?, memoryMap: E820Map,
                acpiRSDP: PhysicalAddress? = nil, setupHeader: UnsafeRawBufferPointer? = nil,
                code32Start: PhysicalAddress? = nil) {
        self.commandLine = commandLine
        self.ramdisk = ramdisk
        self.memoryMap = memoryMap
        self.acpiRSDP = acpiRSDP
        self.setupHeader = setupHeader
        self.code32Start = code32Start
    }

    /// Zeroes the page, takes the kernel's setup header when it has one
    /// (boot.rst: copy bytes 0x1F1 up to 0x202 + byte[0x201]), then fills
    /// in what the loader decides.
    public func write(into page: UnsafeMutableRawBufferPointer) throws(BootError) {
        precondition(page.count >= BootParamsLayout.size)
        typealias L = BootParamsLayout
        page.initializeMemory(as: UInt8.self, repeating: 0)
        func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            page.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        }
        if let header = setupHeader, header.count > L.setupSectors {
            // boot.rst: the header ends at 0x202 + the byte at 0x201 (the jump's offset).
            let end = header.count > L.headerMagic ? min(header.count, L.headerMagic + Int(header[L.headerMagic - 1])) : header.count
            for offset in L.setupSectors..<min(end, L.e820Table) { page[offset] = header[offset] }
            page[L.loadFlags] |= L.loadFlagLoadedHigh
            // QEMU's copy (SETUP_DATA) may point at setup_data and a ramdisk
            // placed where its own option ROM would have put them; stage0
            // loads neither there.
            store(UInt64(0), at: L.setupData)
            store(UInt32(0), at: L.ramdiskImage)
            store(UInt32(0), at: L.ramdiskSize)
        } else {
            store(L.bootFlagValue, at: L.bootFlag)
            store(L.headerMagicValue, at: L.headerMagic)
            store(L.implementedProtocol, at: L.protocolVersion)
            store(L.loadFlagLoadedHigh, at: L.loadFlags)
            store(UInt32(truncatingIfNeeded: L.defaultCommandLineLimit), at: L.cmdlineSize)
            store(UInt32(truncatingIfNeeded: L.defaultInitrdAddressMax), at: L.initrdAddressMax)
        }
        if let code32Start { store(UInt32(truncatingIfNeeded: code32Start.value), at: L.code32Start) }
        store(L.loaderTypeUndefined, at: L.typeOfLoader)
        store(UInt32(truncatingIfNeeded: commandLine.value), at: L.cmdLinePointer)
        store(UInt32(truncatingIfNeeded: commandLine.value >> 32), at: L.extCmdLinePointer)
        if let ramdisk {
            store(UInt32(truncatingIfNeeded: ramdisk.start.value), at: L.ramdiskImage)
            store(UInt32(truncatingIfNeeded: ramdisk.start.value >> 32), at: L.extRamdiskImage)
            store(UInt32(truncatingIfNeeded: ramdisk.size), at: L.ramdiskSize)
            store(UInt32(truncatingIfNeeded: ramdisk.size >> 32), at: L.extRamdiskSize)
        }
        if let acpiRSDP { store(acpiRSDP.value, at: L.acpiRSDPAddress) }
        let table = UnsafeMutableRawBufferPointer(
            rebasing: page[L.e820Table..<(L.e820Table + L.e820TableEntries * E820Entry.encodedSize)])
        let count = try memoryMap.encode(into: table, maximumEntries: L.e820TableEntries)
        store(UInt8(count), at: L.e820EntryCount)
    }
}
