// Test doubles and input decoding shared by the Loader fuzz targets. They
// follow Tests/LoaderTests/FakeFwCfg.swift (a fw_cfg device behaving like
// QEMU's hw/nvram/fw_cfg.c, and host memory standing for guest RAM), minus
// the event recording, and with bulk copies so a fuzz run stays fast.
// Compiled into the same module as Sources/Loader/*.swift.

#if canImport(Glibc)
import Glibc
#endif

/// The firmware's own memory, as Sources/Firmware/FirmwareMemory.swift
/// builds it from Sources/Support/include/memory_layout.h (values copied:
/// the fuzzers are built without the bare-metal Support module).
enum Stage0Layout {
    static let pageTables = PhysicalRegion(start: PhysicalAddress(0x1000), size: 0x6000)
    static let zeroPage = PhysicalRegion(start: PhysicalAddress(0x7000), size: 0x1000)
    static let commandLine = PhysicalRegion(start: PhysicalAddress(0x8000), size: 0x8000)
    static let image = PhysicalRegion(start: PhysicalAddress(0x10000), size: 0x20000)
    static let stack = PhysicalRegion(start: PhysicalAddress(0x30000), size: 0x10000)
    static let heap = PhysicalRegion(start: PhysicalAddress(0x40000), size: 0x40000)
    static let all = PhysicalRegion(start: PhysicalAddress(0), size: 0x80000)
    static let legacyArea = PhysicalRegion(start: 0xA_0000, end: 0x10_0000)
    static let acpiFSEG = PhysicalRegion(start: PhysicalAddress(0xFDC00), size: 0x2000)
    static let acpiHighSize: UInt64 = 0x10_0000

    static var reservations: [MemoryReservation] {
        [MemoryReservation(.pageTables, pageTables), MemoryReservation(.zeroPage, zeroPage),
         MemoryReservation(.commandLine, commandLine), MemoryReservation(.firmware, image),
         MemoryReservation(.stack, stack), MemoryReservation(.heap, heap),
         MemoryReservation(.legacyArea, legacyArea)]
    }

    /// What Boot.swift does to QEMU's map before anything is placed.
    static func firmwareMap(_ map: E820Map) -> E820Map {
        var map = map
        map.reserve(all)
        map.reserve(legacyArea)
        return map
    }
}

/// A fw_cfg device as QEMU implements it (see Tests/LoaderTests/FakeFwCfg.swift).
final class FuzzFwCfg: FwCfgPorts {
    struct Item {
        var bytes: [UInt8]
        var size: Int
        var writable = false
    }

    static let firstFileSelector: UInt16 = 0x0020

    var items: [UInt16: Item] = [:]
    private(set) var files: [(name: [UInt8], selector: UInt16)] = []
    private var currentSelector: UInt16? = nil
    private var currentOffset = 0
    /// Makes every DMA transfer report an error without moving data.
    var failsDMA = false

    init(features: UInt32 = 3, signature: [UInt8] = Array("QEMU".utf8)) {
        setItem(0x0000, bytes: signature)
        setItem(0x0001, bytes: littleEndianBytes(features))
        rebuildDirectory()
    }

    func setItem(_ selector: UInt16, bytes: [UInt8], declaredSize: Int? = nil, writable: Bool = false) {
        items[selector] = Item(bytes: bytes, size: max(declaredSize ?? bytes.count, bytes.count), writable: writable)
    }

    /// A -kernel/-initrd/-append style item with its size in a companion item.
    func setLegacyItem(_ data: FwCfgSelector, sizeIn size: FwCfgSelector, bytes: [UInt8], declaredSize: Int? = nil) {
        let total = max(declaredSize ?? bytes.count, bytes.count)
        setItem(size.rawValue, bytes: littleEndianBytes(UInt32(truncatingIfNeeded: total)))
        setItem(data.rawValue, bytes: bytes, declaredSize: total)
    }

    @discardableResult
    func addFile(_ name: String, bytes: [UInt8], declaredSize: Int? = nil, writable: Bool = false) -> UInt16 {
        let selector = FuzzFwCfg.firstFileSelector + UInt16(files.count)
        files.append((Array(name.utf8), selector))
        setItem(selector, bytes: bytes, declaredSize: declaredSize, writable: writable)
        rebuildDirectory()
        return selector
    }

    /// Replaces the directory item with raw bytes (the fw_cfg directory fuzzer).
    func setRawDirectory(_ bytes: [UInt8]) {
        items[FwCfgSelector.fileDirectory.rawValue] = Item(bytes: bytes, size: bytes.count)
    }

    /// The item's bytes as the device holds them now, to its declared size.
    func contents(of selector: UInt16) -> [UInt8]? {
        guard let item = items[selector] else { return nil }
        return item.bytes + [UInt8](repeating: 0, count: item.size - item.bytes.count)
    }

    private func rebuildDirectory() {
        var directory = bigEndianBytes(UInt32(files.count))
        for (name, selector) in files {
            directory += bigEndianBytes(UInt32(truncatingIfNeeded: items[selector]!.size))
            directory += [UInt8(selector >> 8), UInt8(selector & 0xFF), 0, 0]
            var nameBytes = Array(name.prefix(55))
            nameBytes += [UInt8](repeating: 0, count: 56 - nameBytes.count)
            directory += nameBytes
        }
        items[FwCfgSelector.fileDirectory.rawValue] = Item(bytes: directory, size: directory.count)
    }

    func writeSelector(_ value: UInt16) { select(value) }

    /// fw_cfg_data_read: bytes at the current offset, 0 past the end; advances within the item.
    func readData(into buffer: UnsafeMutableRawBufferPointer) {
        guard buffer.count > 0 else { return }
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        guard let selector = currentSelector, let item = items[selector], currentOffset < item.size else { return }
        let take = min(buffer.count, item.size - currentOffset)
        copy(item, from: currentOffset, count: take, to: buffer.baseAddress!)
        currentOffset += take
    }

    /// Copies `count` bytes of the item from `offset`: its bytes, then zeros.
    private func copy(_ item: Item, from offset: Int, count: Int, to destination: UnsafeMutableRawPointer) {
        let stored = max(0, min(count, item.bytes.count - offset))
        if stored > 0 {
            item.bytes.withUnsafeBytes { source in
                destination.copyMemory(from: source.baseAddress! + offset, byteCount: stored)
            }
        }
        if count > stored { (destination + stored).initializeMemory(as: UInt8.self, repeating: 0, count: count - stored) }
    }

    /// fw_cfg_dma_transfer on the descriptor the two port values point at.
    func writeDMAAddress(highPortValue: UInt32, lowPortValue: UInt32) {
        let descriptorAddress = UInt64(highPortValue.byteSwapped) << 32 | UInt64(lowPortValue.byteSwapped)
        guard let descriptor = UnsafeMutableRawPointer(bitPattern: UInt(descriptorAddress)) else {
            fatalError("DMA started with a null descriptor address")
        }
        let control = UInt32(bigEndian: descriptor.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        var length = UInt32(bigEndian: descriptor.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        var address = UInt64(bigEndian: descriptor.loadUnaligned(fromByteOffset: 8, as: UInt64.self))

        if control & 0x08 != 0 { select(UInt16(truncatingIfNeeded: control >> 16)) }
        let read = control & 0x02 != 0
        let write = !read && control & 0x10 != 0
        let skip = !read && !write && control & 0x04 != 0
        if !read && !write && !skip { length = 0 }

        var result: UInt32 = 0
        if failsDMA {
            result |= 0x01
            length = 0
        }
        while length > 0 && result & 0x01 == 0 {
            let item = currentSelector.flatMap { items[$0] }
            let chunk: Int
            if let item, currentOffset < item.size {
                chunk = min(Int(length), item.size - currentOffset)
                if read {
                    copy(item, from: currentOffset, count: chunk, to: UnsafeMutableRawPointer(bitPattern: UInt(address))!)
                }
                if write {
                    if item.writable && chunk == Int(length) {
                        let source = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(address))!, count: chunk)
                        var stored = item.bytes + [UInt8](repeating: 0, count: item.size - item.bytes.count)
                        stored.replaceSubrange(currentOffset..<(currentOffset + chunk), with: Array(source))
                        items[currentSelector!]!.bytes = stored
                    } else {
                        result |= 0x01
                    }
                }
                currentOffset += chunk
            } else {
                chunk = Int(length)
                if read {
                    UnsafeMutableRawPointer(bitPattern: UInt(address))!.initializeMemory(as: UInt8.self, repeating: 0, count: chunk)
                }
                if write { result |= 0x01 }
            }
            address &+= UInt64(chunk)
            length -= UInt32(chunk)
        }
        descriptor.storeBytes(of: result.bigEndian, toByteOffset: 0, as: UInt32.self)
    }

    func loadDMAControl(_ descriptor: UnsafeRawPointer) -> UInt32 { descriptor.load(as: UInt32.self) }

    private func select(_ value: UInt16) {
        currentSelector = items[value] != nil ? value : nil
        currentOffset = 0
    }
}

/// Guest-physical RAM 0..<size. One lazily committed mapping per process,
/// reused by every run (contents are not reset: nothing the loader checks
/// depends on them). Asking for a region outside it is a loader bug: the
/// loader was only ever given RAM inside it.
final class FuzzRAM: GuestMemory {
    static let capacity: UInt64 = 256 * mebibyte
    nonisolated(unsafe) static let base: UnsafeMutableRawPointer = {
        let pointer = mmap(nil, Int(capacity), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        precondition(pointer != MAP_FAILED && pointer != nil, "mmap of the fuzz RAM failed")
        return pointer!
    }()

    let size: UInt64

    init(size: UInt64) {
        precondition(size <= FuzzRAM.capacity)
        self.size = size
    }

    func bytes(of region: PhysicalRegion) -> UnsafeMutableRawBufferPointer {
        // An empty region (a PT_LOAD with p_memsz 0) is never touched, wherever it is.
        if region.isEmpty { return UnsafeMutableRawBufferPointer(start: FuzzRAM.base, count: 0) }
        if region.end.value > size || region.start.value.addingReportingOverflow(region.size).overflow {
            fatalError("the loader asked for guest region [\(region.start.value), +\(region.size)), outside the \(size)-byte RAM it was given")
        }
        return UnsafeMutableRawBufferPointer(start: FuzzRAM.base + Int(region.start.value), count: Int(region.size))
    }

    func read(_ start: UInt64, count: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: FuzzRAM.base + Int(start), count: count))
    }
}

/// What every E820Map must be: sorted, non-empty, disjoint entries, neighbours of one type merged.
func checkMap(_ map: E820Map) {
    for (index, entry) in map.entries.enumerated() {
        expect(!entry.region.isEmpty, "empty entry")
        if index > 0 {
            let previous = map.entries[index - 1]
            expect(previous.region.end <= entry.region.start, "entries unsorted or overlapping")
            expect(!(previous.type == entry.type && previous.region.end == entry.region.start), "neighbours not merged")
        }
    }
    expect(E820Map(map.entries) == map, "normalising is not idempotent")
}

/// readHead in KernelInputs.swift: enough for both headers.
func readHead<Ports: FwCfgPorts>(_ file: FwCfgFile, _ fwCfg: FwCfg<Ports>) throws(BootError) -> ScratchBuffer {
    let head = ScratchBuffer(count: Int(min(UInt64(BzImage.headerBytes), file.size)))
    try fwCfg.read(file, into: head.bytes)
    return head
}

func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}

