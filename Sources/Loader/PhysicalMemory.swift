/// A guest-physical address. Distinct from integers and pointers so that a
/// size is never passed where an address is expected.
public struct PhysicalAddress: Comparable, Hashable, Sendable {
    public let value: UInt64

    public init(_ value: UInt64) { self.value = value }

    public static func < (a: PhysicalAddress, b: PhysicalAddress) -> Bool { a.value < b.value }

    public func advanced(by bytes: UInt64) -> PhysicalAddress { PhysicalAddress(value &+ bytes) }

    public func alignedDown(to alignment: UInt64) -> PhysicalAddress {
        PhysicalAddress(value & ~(alignment - 1))
    }

    public func alignedUp(to alignment: UInt64) -> PhysicalAddress {
        PhysicalAddress((value &+ alignment &- 1) & ~(alignment - 1))
    }
}

/// A half-open range of physical memory [start, end).
public struct PhysicalRegion: Equatable, Sendable {
    public let start: PhysicalAddress
    public let size: UInt64

    public init(start: PhysicalAddress, size: UInt64) {
        self.start = start
        self.size = size
    }

    public init(start: UInt64, end: UInt64) {
        self.start = PhysicalAddress(start)
        self.size = end &- start
    }

    /// One past the last byte; saturates instead of wrapping past 2^64.
    public var end: PhysicalAddress {
        let (sum, overflow) = start.value.addingReportingOverflow(size)
        return PhysicalAddress(overflow ? UInt64.max : sum)
    }

    public var isEmpty: Bool { size == 0 }

    public func contains(_ other: PhysicalRegion) -> Bool {
        other.start >= start && other.end <= end
    }

    public func contains(_ address: PhysicalAddress) -> Bool {
        address >= start && address < end
    }

    public func overlaps(_ other: PhysicalRegion) -> Bool {
        !isEmpty && !other.isEmpty && start < other.end && other.start < end
    }
}

/// Maps guest-physical regions to pointers the loader can write through.
/// In the firmware memory is identity-mapped; in tests it is a host buffer.
public protocol GuestMemory {
    func bytes(of region: PhysicalRegion) -> UnsafeMutableRawBufferPointer
}

public let kibibyte: UInt64 = 1 << 10
public let mebibyte: UInt64 = 1 << 20
public let gibibyte: UInt64 = 1 << 30
public let pageSize: UInt64 = 4096
