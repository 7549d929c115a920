// Shared by every fuzz target: decoding the fuzz bytes, and checking invariants.

/// Reads integers and byte runs front to back; past the end everything is 0.
struct FuzzInput {
    let bytes: [UInt8]
    var position = 0

    init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = Array(UnsafeBufferPointer(start: data, count: size))
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { max(0, bytes.count - position) }

    mutating func u8() -> UInt8 {
        defer { position += 1 }
        return position < bytes.count ? bytes[position] : 0
    }

    mutating func u16() -> UInt16 { UInt16(u8()) | UInt16(u8()) << 8 }
    mutating func u32() -> UInt32 { UInt32(u16()) | UInt32(u16()) << 16 }
    mutating func u64() -> UInt64 { UInt64(u32()) | UInt64(u32()) << 32 }

    mutating func take(_ count: Int) -> [UInt8] {
        let start = min(position, bytes.count)
        let end = min(bytes.count, start + max(0, count))
        position = start + max(0, count)
        return Array(bytes[start..<end])
    }

    mutating func rest() -> [UInt8] { take(remaining) }
}

/// Built with -D FUZZ_SKIP_KNOWN_BUGS, the targets skip inputs that hit a bug
/// already found and reported but not fixed yet, so that a long run goes on
/// to find others. By default (make fuzz, make fuzz-smoke) they hit them.
#if FUZZ_SKIP_KNOWN_BUGS
let knownBugsSkipped = true
#else
let knownBugsSkipped = false
#endif

/// An invariant the fuzzer checks on a successful result: failing it is a bug, so it traps.
func expect(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("fuzz invariant failed: " + message()) }
}
