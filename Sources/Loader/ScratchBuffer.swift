/// Zeroed heap bytes owned by one scope. Lets code that throws typed errors
/// fill and parse a buffer without the untyped-rethrowing closures of
/// Array.withUnsafeBytes.
public struct ScratchBuffer: ~Copyable {
    public let bytes: UnsafeMutableRawBufferPointer

    public init(count: Int) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        bytes = UnsafeMutableRawBufferPointer(rebasing: storage[0..<count])
    }

    public var readOnly: UnsafeRawBufferPointer { UnsafeRawBufferPointer(bytes) }

    deinit {
        // A rebased empty buffer has no base address; nothing was lost, the allocator is a bump pointer.
        bytes.baseAddress?.deallocate()
    }
}
