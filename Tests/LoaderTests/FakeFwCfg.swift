// Test doubles for the two things the loader talks to: QEMU's fw_cfg device
// (behaving like hw/nvram/fw_cfg.c) and guest-physical RAM.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import Loader

/// A named fw_cfg file. `declaredSize` may exceed `bytes.count`: the device
/// then serves zeros past the bytes, so a 66 MB kernel needs only its headers.
/// `writable` files accept DMA writes, like the ones QEMU adds with
/// fw_cfg_add_file_callback(..., read_only = false) (etc/vmgenid_addr).
struct FakeFile {
    var name: String
    var bytes: [UInt8]
    var declaredSize: Int
    var writable: Bool

    init(_ name: String, bytes: [UInt8], declaredSize: Int? = nil, writable: Bool = false) {
        precondition((declaredSize ?? bytes.count) >= bytes.count)
        self.name = name
        self.bytes = bytes
        self.declaredSize = declaredSize ?? bytes.count
        self.writable = writable
    }
}

/// A fw_cfg device as QEMU implements it: items keyed by selector, a
/// current item and offset, port I/O reads and DMA descriptors read from
/// "guest memory" (here, host memory: the pointers the driver hands over).
final class FakeFwCfg: FwCfgPorts {
    enum Features {
        case ioOnly, ioAndDMA, none
        var rawValue: UInt32 {
            switch self {
            case .ioOnly: return 1
            case .ioAndDMA: return 3
            case .none: return 0
            }
        }
    }

    struct Item {
        var bytes: [UInt8]
        var size: Int
        var writable = false
    }

    /// One DMA write the device accepted: the bytes it stored at `offset` of the item.
    struct Write: Equatable {
        var selector: UInt16
        var offset: Int
        var bytes: [UInt8]
    }

    /// One DMA request as the device decoded it.
    struct Descriptor: Equatable {
        /// The 16 bytes found at the descriptor's address, before the transfer.
        var raw: [UInt8]
        var control: UInt32
        var length: UInt32
        var address: UInt64
        /// Where the descriptor itself was (decoded from the two port values).
        var descriptorAddress: UInt64
        var highPortValue: UInt32
        var lowPortValue: UInt32

        var selects: Bool { control & 0x08 != 0 }
        var selector: UInt16 { UInt16(truncatingIfNeeded: control >> 16) }
        var reads: Bool { control & 0x02 != 0 }
        var skips: Bool { control & 0x04 != 0 }
        var writes: Bool { control & 0x10 != 0 }
    }

    enum Event: Equatable {
        case select(UInt16)
        case portRead(count: Int)
        case dma(Descriptor)
    }

    static let firstFileSelector: UInt16 = 0x0020

    private(set) var items: [UInt16: Item] = [:]
    private(set) var files: [(name: String, selector: UInt16)] = []

    // Device state (fw_cfg.c: cur_entry, cur_offset).
    private var currentSelector: UInt16? = nil
    private var currentOffset = 0

    // What the driver did, in order.
    private(set) var events: [Event] = []
    var selectorWrites: [UInt16] { events.compactMap { if case .select(let s) = $0 { s } else { nil } } }
    var dmaTransfers: [Descriptor] { events.compactMap { if case .dma(let d) = $0 { d } else { nil } } }
    var portReads: [Int] { events.compactMap { if case .portRead(let n) = $0 { n } else { nil } } }
    var portBytesRead: Int { portReads.reduce(0, +) }
    /// The DMA writes that reached a writable item, in order.
    private(set) var writes: [Write] = []

    /// Makes every DMA transfer report an error (control bit 0) without moving data.
    var failsDMA = false
    /// When false, DMA reads are decoded and recorded but move no data
    /// (for the 1 GiB chunking test, whose destination is reserved address
    /// space that must not be touched).
    var movesData = true
    /// How many loads of the control word still see the request before the
    /// device "completes" (QEMU completes synchronously: 0).
    var pollsBeforeCompletion = 0
    private(set) var controlLoads = 0
    private var pendingCompletion: (descriptor: UnsafeMutableRawPointer, control: UInt32, polls: Int)? = nil

    init(features: Features = .ioAndDMA, signature: [UInt8] = Array("QEMU".utf8), files: [FakeFile] = []) {
        setItem(FwCfgSelector.signature.rawValue, bytes: signature)
        setFeatures(features.rawValue)
        for file in files { insert(file) }
        rebuildDirectory()
    }

    func setFeatures(_ raw: UInt32) {
        setItem(FwCfgSelector.id.rawValue, bytes: littleEndianBytes(raw))
    }

    /// A legacy (selector-only) item.
    func setItem(_ selector: UInt16, bytes: [UInt8], declaredSize: Int? = nil, writable: Bool = false) {
        items[selector] = Item(bytes: bytes, size: max(declaredSize ?? bytes.count, bytes.count), writable: writable)
    }

    /// A legacy data item with its size in a companion item, as QEMU serves
    /// -kernel, -initrd and -append (hw/i386/x86.c: fw_cfg_add_i32 of the
    /// size, fw_cfg_add_bytes of the data). `declaredSize` may exceed
    /// `bytes.count`: the device serves zeros past the bytes.
    func setLegacyItem(_ data: FwCfgSelector, sizeIn size: FwCfgSelector, bytes: [UInt8], declaredSize: Int? = nil) {
        let total = max(declaredSize ?? bytes.count, bytes.count)
        setItem(size.rawValue, bytes: littleEndianBytes(UInt32(total)))
        setItem(data.rawValue, bytes: bytes, declaredSize: total)
    }

    /// Adds a named file at the next free selector and lists it in the directory.
    @discardableResult
    func addFile(_ file: FakeFile) -> UInt16 {
        let selector = insert(file)
        rebuildDirectory()
        return selector
    }

    @discardableResult
    private func insert(_ file: FakeFile) -> UInt16 {
        let selector = FakeFwCfg.firstFileSelector + UInt16(files.count)
        files.append((file.name, selector))
        setItem(selector, bytes: file.bytes, declaredSize: file.declaredSize, writable: file.writable)
        return selector
    }

    func selector(of name: String) -> UInt16? {
        files.first { $0.name == name }?.selector
    }

    /// The item's bytes as the device holds them now (after any writes), to its declared size.
    func contents(of name: String) -> [UInt8]? {
        guard let selector = selector(of: name), let item = items[selector] else { return nil }
        return item.bytes + [UInt8](repeating: 0, count: item.size - item.bytes.count)
    }

    /// FW_CFG_FILE_DIR: be32 count, then {be32 size, be16 select, u16 reserved, char name[56]}.
    private func rebuildDirectory() {
        var directory = bigEndianBytes(UInt32(files.count))
        for (name, selector) in files {
            let item = items[selector]!
            directory += bigEndianBytes(UInt32(item.size))
            directory += [UInt8(selector >> 8), UInt8(selector & 0xFF), 0, 0]
            var nameBytes = Array(name.utf8.prefix(55))
            nameBytes += [UInt8](repeating: 0, count: 56 - nameBytes.count)
            directory += nameBytes
        }
        items[FwCfgSelector.fileDirectory.rawValue] = Item(bytes: directory, size: directory.count)
    }

    func clearEvents() { events.removeAll() }

    // MARK: FwCfgPorts

    func writeSelector(_ value: UInt16) {
        events.append(.select(value))
        select(value)
    }

    /// fw_cfg_data_read: the byte at the current offset, 0 past the end; advances within the item.
    func readData(into buffer: UnsafeMutableRawBufferPointer) {
        events.append(.portRead(count: buffer.count))
        for index in 0..<buffer.count {
            var value: UInt8 = 0
            if let selector = currentSelector, let item = items[selector], currentOffset < item.size {
                value = currentOffset < item.bytes.count ? item.bytes[currentOffset] : 0
                currentOffset += 1
            }
            buffer[index] = value
        }
    }

    /// fw_cfg_dma_mem_write + fw_cfg_dma_transfer: the register is
    /// big-endian, so the values the CPU wrote arrive byte-swapped.
    func writeDMAAddress(highPortValue: UInt32, lowPortValue: UInt32) {
        let descriptorAddress = UInt64(highPortValue.byteSwapped) << 32 | UInt64(lowPortValue.byteSwapped)
        guard let descriptor = UnsafeMutableRawPointer(bitPattern: UInt(descriptorAddress)) else {
            Issue.record("DMA started with a null descriptor address")
            return
        }
        let raw = (0..<16).map { descriptor.load(fromByteOffset: $0, as: UInt8.self) }
        let control = UInt32(bigEndian: descriptor.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        var length = UInt32(bigEndian: descriptor.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        var address = UInt64(bigEndian: descriptor.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        events.append(.dma(Descriptor(raw: raw, control: control, length: length, address: address,
                                      descriptorAddress: descriptorAddress,
                                      highPortValue: highPortValue, lowPortValue: lowPortValue)))

        if control & 0x08 != 0 { select(UInt16(truncatingIfNeeded: control >> 16)) }
        // Read wins over write over skip; none of them means nothing to do.
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
                if read && movesData {
                    let destination = UnsafeMutableRawPointer(bitPattern: UInt(address))!
                    for index in 0..<chunk {
                        let offset = currentOffset + index
                        destination.storeBytes(of: offset < item.bytes.count ? item.bytes[offset] : 0,
                                               toByteOffset: index, as: UInt8.self)
                    }
                }
                // fw_cfg_dma_transfer: a write must be allowed and fit in the item whole.
                if write {
                    if item.writable && chunk == Int(length) {
                        let source = UnsafeRawPointer(bitPattern: UInt(address))!
                        let written = (0..<chunk).map { source.load(fromByteOffset: $0, as: UInt8.self) }
                        var stored = item.bytes + [UInt8](repeating: 0, count: item.size - item.bytes.count)
                        stored.replaceSubrange(currentOffset..<(currentOffset + chunk), with: written)
                        items[currentSelector!]!.bytes = stored
                        writes.append(Write(selector: currentSelector!, offset: currentOffset, bytes: written))
                    } else {
                        result |= 0x01
                    }
                }
                currentOffset += chunk
            } else {
                // No item, or past its end: reads give zeros, writes fail.
                chunk = Int(length)
                if read && movesData {
                    UnsafeMutableRawPointer(bitPattern: UInt(address))!.initializeMemory(
                        as: UInt8.self, repeating: 0, count: chunk)
                }
                if write { result |= 0x01 }
            }
            address &+= UInt64(chunk)
            length -= UInt32(chunk)
        }

        if pollsBeforeCompletion > 0 {
            pendingCompletion = (descriptor, result, pollsBeforeCompletion)
        } else {
            descriptor.storeBytes(of: result.bigEndian, toByteOffset: 0, as: UInt32.self)
        }
    }

    func loadDMAControl(_ descriptor: UnsafeRawPointer) -> UInt32 {
        controlLoads += 1
        if var pending = pendingCompletion, UnsafeRawPointer(pending.descriptor) == descriptor {
            pending.polls -= 1
            if pending.polls <= 0 {
                pending.descriptor.storeBytes(of: pending.control.bigEndian, toByteOffset: 0, as: UInt32.self)
                pendingCompletion = nil
            } else {
                pendingCompletion = pending
            }
        }
        return descriptor.load(as: UInt32.self)
    }

    /// fw_cfg_select: a new item, offset back to 0.
    private func select(_ value: UInt16) {
        currentSelector = items[value] != nil ? value : nil
        currentOffset = 0
    }
}

/// Guest-physical memory 0..<size as one zeroed host mapping, committed
/// lazily by the kernel, so 128 MiB costs only the pages a test touches.
final class FakeRAM: GuestMemory {
    let size: UInt64
    let base: UnsafeMutableRawPointer
    /// Every region the loader asked for, in order.
    private(set) var requestedRegions: [PhysicalRegion] = []

    init(size: UInt64 = 128 * mebibyte) {
        self.size = size
        base = FakeRAM.mapAnonymous(Int(size), protection: PROT_READ | PROT_WRITE)
    }

    deinit { munmap(base, Int(size)) }

    static func mapAnonymous(_ count: Int, protection: Int32) -> UnsafeMutableRawPointer {
        let pointer = mmap(nil, count, protection, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        precondition(pointer != MAP_FAILED && pointer != nil, "mmap of \(count) bytes failed")
        return pointer!
    }

    func bytes(of region: PhysicalRegion) -> UnsafeMutableRawBufferPointer {
        requestedRegions.append(region)
        precondition(region.end.value <= size && region.end.value >= region.start.value,
                     "guest region \(Text.range(region)) is outside FakeRAM (\(Text.size(size)))")
        return UnsafeMutableRawBufferPointer(start: base + Int(region.start.value), count: Int(region.size))
    }

    /// The host address that stands for guest-physical `address`.
    func hostAddress(of address: UInt64) -> UInt64 {
        UInt64(UInt(bitPattern: base)) + address
    }

    /// The guest-physical address of a host address inside FakeRAM, or nil.
    func guestAddress(ofHost host: UInt64) -> UInt64? {
        let start = UInt64(UInt(bitPattern: base))
        return host >= start && host < start + size ? host - start : nil
    }

    /// A copy of guest memory, without recording a request.
    func read(_ start: UInt64, count: Int) -> [UInt8] {
        precondition(start + UInt64(count) <= size)
        return Array(UnsafeRawBufferPointer(start: base + Int(start), count: count))
    }

    func fill(_ start: UInt64, count: Int, with value: UInt8) {
        precondition(start + UInt64(count) <= size)
        (base + Int(start)).initializeMemory(as: UInt8.self, repeating: value, count: count)
    }

    func isZero(_ start: UInt64, count: Int) -> Bool {
        UnsafeRawBufferPointer(start: base + Int(start), count: count).allSatisfy { $0 == 0 }
    }
}

func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}

/// A driver over a fresh fake, for tests that only need it to probe successfully.
func makeFwCfg(_ device: FakeFwCfg, prefersPortIO: Bool = false) throws -> FwCfg<FakeFwCfg> {
    try FwCfg(ports: device, prefersPortIO: prefersPortIO)
}
