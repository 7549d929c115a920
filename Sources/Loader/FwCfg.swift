/// QEMU's firmware configuration device (QEMU docs/specs/fw_cfg.rst).

/// An fw_cfg item key, written to the selector register.
public struct FwCfgSelector: Equatable, Sendable {
    public let rawValue: UInt16
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    // fw_cfg.rst, "Selector Register"; include/standard-headers/linux/qemu_fw_cfg.h.
    public static let signature = FwCfgSelector(0x0000)
    public static let id = FwCfgSelector(0x0001)
    public static let ramSize = FwCfgSelector(0x0003)
    public static let cpuCount = FwCfgSelector(0x0005)
    public static let fileDirectory = FwCfgSelector(0x0019)
    /// FW_CFG_ARCH_LOCAL + 2 (QEMU hw/i386/fw_cfg.h): nonzero when ISA IRQ 0 is wired to I/O APIC pin 2.
    public static let irq0Override = FwCfgSelector(0x8002)
    // What QEMU serves for -kernel, -initrd and -append (hw/i386/x86.c, x86_load_linux).
    public static let kernelSize = FwCfgSelector(0x0008)
    public static let initrdSize = FwCfgSelector(0x000B)
    public static let kernelEntry = FwCfgSelector(0x0010)
    public static let kernelData = FwCfgSelector(0x0011)
    public static let initrdData = FwCfgSelector(0x0012)
    public static let commandLineSize = FwCfgSelector(0x0014)
    public static let commandLineData = FwCfgSelector(0x0015)
    public static let setupSize = FwCfgSelector(0x0017)
    public static let setupData = FwCfgSelector(0x0018)
}

/// The device's registers, as the CPU sees them: selector (16-bit, port
/// 0x510), data (8-bit, port 0x511), and the DMA address register (two
/// 32-bit halves, ports 0x514 and 0x518; writing the low half starts the
/// transfer). A fake implements the same registers in tests.
public protocol FwCfgPorts {
    func writeSelector(_ value: UInt16)
    func readData(into buffer: UnsafeMutableRawBufferPointer)
    /// The raw 32-bit values written to ports 0x514 and 0x518, in that order.
    func writeDMAAddress(highPortValue: UInt32, lowPortValue: UInt32)
    /// A volatile load of the descriptor's control word (the device writes it).
    func loadDMAControl(_ descriptor: UnsafeRawPointer) -> UInt32
}

/// FW_CFG_ID feature bits.
public struct FwCfgFeatures: Equatable, Sendable {
    public let rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public var hasPortIO: Bool { rawValue & 1 != 0 }
    public var hasDMA: Bool { rawValue & 2 != 0 }
}

/// FWCfgDmaAccess control bits (fw_cfg.rst, "DMA interface").
enum FwCfgDMAControl {
    static let error: UInt32 = 1 << 0
    static let read: UInt32 = 1 << 1
    static let skip: UInt32 = 1 << 2
    static let select: UInt32 = 1 << 3
    static let write: UInt32 = 1 << 4
    static let descriptorSize = 16
    /// The length field is 32 bits; longer reads are split.
    static let maximumLength: UInt64 = 1 << 30
    /// QEMU completes a transfer before the port write returns; a device
    /// that never does must not hang the boot (2^26 polls: a fraction of a
    /// second under KVM, seconds under TCG).
    static let maximumPolls = 1 << 26
}

/// The driver: probes the device once, reads the file directory once, then
/// reads items straight into their destination, by DMA when the device has
/// it and by port I/O otherwise. A class: it stands for the one device, and
/// it remembers the device's read position so that reading on in the same
/// item skips only the gap instead of starting over.
public final class FwCfg<Ports: FwCfgPorts> {
    /// "QEMU" as read byte by byte from the signature item.
    static var expectedSignature: UInt32 { 0x554D_4551 }

    public let ports: Ports
    public let features: FwCfgFeatures
    public let directory: FwCfgDirectory
    /// Port I/O is the fallback; tests and `prefersPortIO` force it.
    public let usesDMA: Bool
    /// The selected item and the device's offset in it, when known.
    private var position: (selector: FwCfgSelector, offset: UInt64)? = nil
    /// How long a DMA transfer may stay incomplete (tests shorten it).
    var dmaPollLimit = FwCfgDMAControl.maximumPolls

    public init(ports: Ports, prefersPortIO: Bool = false) throws(BootError) {
        self.ports = ports
        let signature = FwCfg.readLegacyValue(ports, .signature)
        guard signature == FwCfg.expectedSignature else { throw .fwCfgAbsent(signature: signature) }
        features = FwCfgFeatures(FwCfg.readLegacyValue(ports, .id))
        guard features.hasPortIO || features.hasDMA else { throw .fwCfgNoTransport(features: features.rawValue) }
        usesDMA = features.hasDMA && !prefersPortIO

        // The directory is the one item read with port I/O unconditionally:
        // it is small, and the count tells how much follows.
        var countBytes: UInt32 = 0
        ports.writeSelector(FwCfgSelector.fileDirectory.rawValue)
        withUnsafeMutableBytes(of: &countBytes) { ports.readData(into: $0) }
        let count = UInt32(bigEndian: countBytes)
        guard count <= FwCfgDirectory.maximumFiles else {
            throw .fwCfgDirectoryTooLarge(count: count, limit: FwCfgDirectory.maximumFiles)
        }
        var entries = [UInt8](repeating: 0, count: Int(count) * FwCfgDirectory.entrySize)
        entries.withUnsafeMutableBytes { ports.readData(into: $0) }
        directory = FwCfgDirectory(entries: entries)
    }

    /// A legacy data item whose size is in a companion item (KERNEL_SIZE
    /// for KERNEL_DATA...), or nil when QEMU serves none (size 0).
    public func legacyItem(_ data: FwCfgSelector, sizeIn size: FwCfgSelector, name: Label) -> FwCfgFile? {
        let bytes = UInt64(readLegacy32(size))
        return bytes == 0 ? nil : FwCfgFile(label: name, selector: data, size: bytes)
    }

    /// A little-endian 32-bit legacy item (signature, ID, RAM size...).
    public func readLegacy32(_ selector: FwCfgSelector) -> UInt32 {
        position = nil
        return FwCfg.readLegacyValue(ports, selector)
    }

    static func readLegacyValue(_ ports: Ports, _ selector: FwCfgSelector) -> UInt32 {
        var value: UInt32 = 0
        ports.writeSelector(selector.rawValue)
        withUnsafeMutableBytes(of: &value) { ports.readData(into: $0) }
        return UInt32(littleEndian: value)
    }

    /// Reads `destination.count` bytes of `file` starting at `offset`.
    public func read(_ file: FwCfgFile, at offset: UInt64 = 0,
                     into destination: UnsafeMutableRawBufferPointer) throws(BootError) {
        let length = UInt64(destination.count)
        guard offset <= file.size, length <= file.size - offset else {
            throw .fwCfgReadPastEnd(file: file.label, offset: offset, length: length, size: file.size)
        }
        // Reading on from where the device is saves re-reading up to `offset`.
        var from: UInt64 = 0
        var reselect = true
        if let current = position, current.selector == file.selector, current.offset <= offset {
            from = current.offset
            reselect = false
        }
        position = nil
        if usesDMA {
            try readByDMA(file.selector, select: reselect, from: from, to: offset, into: destination)
        } else {
            readByPortIO(file.selector, select: reselect, from: from, to: offset, into: destination)
        }
        position = (file.selector, offset + length)
    }

    func readByDMA(_ selector: FwCfgSelector, select: Bool, from current: UInt64, to offset: UInt64,
                   into destination: UnsafeMutableRawBufferPointer) throws(BootError) {
        var control = select ? UInt32(selector.rawValue) << 16 | FwCfgDMAControl.select : 0
        var skipped = current
        while skipped < offset {
            let step = min(offset - skipped, FwCfgDMAControl.maximumLength)
            try transfer(control: control | FwCfgDMAControl.skip, length: step, address: 0,
                         selector: selector, offset: skipped)
            skipped += step
            control = 0
        }
        try readSequentially(control: control, selector, from: offset, into: destination)
    }

    /// Reads from the current position, in as many transfers as the 32-bit
    /// length field needs; `control` carries a select for the first one.
    private func readSequentially(control firstControl: UInt32, _ selector: FwCfgSelector, from offset: UInt64,
                                  into destination: UnsafeMutableRawBufferPointer) throws(BootError) {
        guard let base = destination.baseAddress else {
            if firstControl != 0 { ports.writeSelector(selector.rawValue) }
            return
        }
        var done: UInt64 = 0
        var control = firstControl
        let total = UInt64(destination.count)
        repeat {
            let step = min(total - done, FwCfgDMAControl.maximumLength)
            let address = UInt64(UInt(bitPattern: base + Int(done)))
            try transfer(control: control | FwCfgDMAControl.read, length: step, address: address,
                         selector: selector, offset: offset + done)
            done += step
            control = 0
        } while done < total
    }

    /// One DMA descriptor: {be32 control, be32 length, be64 address}.
    private func transfer(control: UInt32, length: UInt64, address: UInt64,
                          selector: FwCfgSelector, offset: UInt64) throws(BootError) {
        let finalControl = withUnsafeTemporaryAllocation(
            byteCount: FwCfgDMAControl.descriptorSize, alignment: 16
        ) { descriptor -> UInt32 in
            descriptor.storeBytes(of: control.bigEndian, toByteOffset: 0, as: UInt32.self)
            descriptor.storeBytes(of: UInt32(truncatingIfNeeded: length).bigEndian, toByteOffset: 4, as: UInt32.self)
            descriptor.storeBytes(of: address.bigEndian, toByteOffset: 8, as: UInt64.self)
            let descriptorAddress = UInt64(UInt(bitPattern: descriptor.baseAddress!))
            // The register is big-endian: each half goes out byte-swapped.
            ports.writeDMAAddress(highPortValue: UInt32(truncatingIfNeeded: descriptorAddress >> 32).byteSwapped,
                                  lowPortValue: UInt32(truncatingIfNeeded: descriptorAddress).byteSwapped)
            // QEMU completes synchronously; the loop is what the spec asks for.
            var current = UInt32(bigEndian: ports.loadDMAControl(descriptor.baseAddress!))
            var polls = 1
            while current & ~FwCfgDMAControl.error != 0 && polls < dmaPollLimit {
                current = UInt32(bigEndian: ports.loadDMAControl(descriptor.baseAddress!))
                polls += 1
            }
            return current
        }
        if finalControl & ~FwCfgDMAControl.error != 0 {
            throw .fwCfgDMANeverCompleted(selector: selector.rawValue, polls: dmaPollLimit)
        }
        if finalControl & FwCfgDMAControl.error != 0 {
            throw .fwCfgDMAFailed(selector: selector.rawValue, offset: offset, length: length)
        }
    }

    /// Writes `source` into `file` at `offset` (DMA only: the port
    /// interface has been read-only since QEMU 2.4).
    public func write(_ file: FwCfgFile, at offset: UInt64, from source: UnsafeRawBufferPointer) throws(BootError) {
        let length = UInt64(source.count)
        guard offset <= file.size, length <= file.size - offset else {
            throw .fwCfgReadPastEnd(file: file.label, offset: offset, length: length, size: file.size)
        }
        guard usesDMA, let base = source.baseAddress else { throw .fwCfgWriteNeedsDMA(file: file.label) }
        position = nil
        let select = UInt32(file.selector.rawValue) << 16 | FwCfgDMAControl.select
        try transfer(control: select | FwCfgDMAControl.skip, length: offset, address: 0,
                     selector: file.selector, offset: 0)
        try transfer(control: FwCfgDMAControl.write, length: length, address: UInt64(UInt(bitPattern: base)),
                     selector: file.selector, offset: offset)
    }

    func readByPortIO(_ selector: FwCfgSelector, select: Bool, from current: UInt64, to offset: UInt64,
                      into destination: UnsafeMutableRawBufferPointer) {
        if select { ports.writeSelector(selector.rawValue) }
        var skipped = current
        withUnsafeTemporaryAllocation(byteCount: 512, alignment: 16) { scratch in
            while skipped < offset {
                let step = Int(min(offset - skipped, UInt64(scratch.count)))
                ports.readData(into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<step]))
                skipped += UInt64(step)
            }
        }
        ports.readData(into: destination)
    }
}

/// One entry of the file directory (selector 0x19).
public struct FwCfgFile: Equatable, Sendable {
    public let label: Label
    public let selector: FwCfgSelector
    public let size: UInt64

    /// Also stands for a legacy item (KERNEL_DATA...), named for the log.
    public init(label: Label, selector: FwCfgSelector, size: UInt64) {
        self.label = label
        self.selector = selector
        self.size = size
    }

#if !hasFeature(Embedded)
    public init(name: String, selector: FwCfgSelector, size: UInt64) {
        self.init(label: Label(name), selector: selector, size: size)
    }

    public var name: String { label.string }
#endif
}

/// The file directory: a big-endian count, then 64-byte entries
/// {be32 size, be16 select, u16 reserved, char name[56]}. Kept as raw bytes
/// and looked up by comparing bytes, so no Unicode machinery is involved.
public struct FwCfgDirectory: Sendable {
    public static let entrySize = 64
    public static let nameSize = 56
    public static let maximumFiles: UInt32 = 1024

    let entries: [UInt8]

    /// `entries` is the directory without its count: a multiple of 64 bytes.
    public init(entries: [UInt8]) {
        self.entries = Array(entries.prefix(entries.count - entries.count % FwCfgDirectory.entrySize))
    }

    public var count: Int { entries.count / FwCfgDirectory.entrySize }

    public func file(at index: Int) -> FwCfgFile {
        let base = index * FwCfgDirectory.entrySize
        let size = UInt32(entries[base]) << 24 | UInt32(entries[base + 1]) << 16
            | UInt32(entries[base + 2]) << 8 | UInt32(entries[base + 3])
        let selector = UInt16(entries[base + 4]) << 8 | UInt16(entries[base + 5])
        let nameStart = base + 8
        var nameEnd = nameStart
        while nameEnd < nameStart + FwCfgDirectory.nameSize && entries[nameEnd] != 0 { nameEnd += 1 }
        let name = entries.withUnsafeBytes { Label(bytes: UnsafeRawBufferPointer(rebasing: $0[nameStart..<nameEnd])) }
        return FwCfgFile(label: name,
                         selector: FwCfgSelector(selector), size: UInt64(size))
    }

    public func file(named name: StaticString) -> FwCfgFile? {
        file(named: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
    }

    /// Looks a name up by its bytes (no NUL), as other fw_cfg data spells them.
    public func file(named wanted: UnsafeRawBufferPointer) -> FwCfgFile? {
        guard wanted.count < FwCfgDirectory.nameSize else { return nil }
        for index in 0..<count {
            let nameStart = index * FwCfgDirectory.entrySize + 8
            var matches = entries[nameStart + wanted.count] == 0
            var offset = 0
            while matches && offset < wanted.count {
                matches = entries[nameStart + offset] == wanted[offset]
                offset += 1
            }
            if matches { return file(at: index) }
        }
        return nil
    }
}
