/// A line of text built by string interpolation into a fixed buffer: no
/// heap, no Unicode machinery, numbers formatted as they are appended. The
/// firmware's log lines and error messages are Messages; the host tests
/// read them back as Strings. Past `capacity` bytes the text is cut short.
///
///     let line: Message = "kernel segment \(index) at \(region), \(size: bytes)"
public struct Message: ExpressibleByStringInterpolation, Sendable {
    public static let capacity = 384
    var storage: InlineArray<384, UInt8>
    public private(set) var count: Int

    public init() {
        storage = InlineArray(repeating: 0)
        count = 0
    }

    @inline(never)
    public init(stringLiteral literal: StaticString) {
        self.init()
        append(literal)
    }

    public init(stringInterpolation: StringInterpolation) {
        self = stringInterpolation.message
    }

    /// The bytes, for a caller that writes them somewhere (the serial port).
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        let length = count
        return storage.span.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }

#if !hasFeature(Embedded)
    /// The text as a String (host side: tests and tools; the firmware has no String).
    public var string: String {
        withBytes { String(decoding: $0, as: UTF8.self) }
    }

    @inline(never)
    public mutating func append(_ text: String) {
        for byte in text.utf8 { append(byte) }
    }
#endif

    @inline(never)
    public mutating func append(_ byte: UInt8) {
        guard count < Message.capacity else { return }
        storage[count] = byte
        count += 1
    }

    @inline(never)
    public mutating func append(_ literal: StaticString) {
        let start = literal.utf8Start
        for index in 0..<literal.utf8CodeUnitCount { append(start[index]) }
    }

    @inline(never)
    public mutating func append(bytes: UnsafeRawBufferPointer) {
        for byte in bytes { append(byte) }
    }

    @inline(never)
    public mutating func append(message other: Message) {
        for index in 0..<other.count { append(other.storage[index]) }
    }

    @inline(never)
    public mutating func appendDecimal(_ value: UInt64) {
        var digits: InlineArray<20, UInt8> = InlineArray(repeating: 0)
        var length = 0
        var rest = value
        repeat {
            digits[length] = 0x30 + UInt8(rest % 10)
            rest /= 10
            length += 1
        } while rest != 0
        while length > 0 { length -= 1; append(digits[length]) }
    }

    @inline(never)
    public mutating func appendHex(_ value: UInt64) {
        append("0x")
        var shift = 60
        while shift > 0 && (value >> UInt64(shift)) & 0xF == 0 { shift -= 4 }
        while shift >= 0 {
            let digit = UInt8((value >> UInt64(shift)) & 0xF)
            append(digit < 10 ? 0x30 + digit : 0x57 + digit)
            shift -= 4
        }
    }

    /// Byte counts the way people read them: "512 B", "64 KiB", "1.5 MiB".
    @inline(never)
    public mutating func appendSize(_ bytes: UInt64) {
        let unit: UInt64
        let name: StaticString
        if bytes >= gibibyte { unit = gibibyte; name = " GiB" }
        else if bytes >= mebibyte { unit = mebibyte; name = " MiB" }
        else if bytes >= kibibyte { unit = kibibyte; name = " KiB" }
        else { appendDecimal(bytes); append(" B"); return }
        appendDecimal(bytes / unit)
        let tenths = (bytes % unit) * 10 / unit
        if tenths != 0 { append(0x2E); appendDecimal(tenths) }
        append(name)
    }

    /// Microseconds as milliseconds with three decimals: "12.345 ms".
    @inline(never)
    public mutating func appendMilliseconds(microseconds: UInt64) {
        appendDecimal(microseconds / 1000)
        append(0x2E)
        let fraction = microseconds % 1000
        if fraction < 100 { append(0x30) }
        if fraction < 10 { append(0x30) }
        appendDecimal(fraction)
        append(" ms")
    }

    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        var message = Message()

        public init(literalCapacity: Int, interpolationCount: Int) {}

        @inline(never)
        public mutating func appendLiteral(_ literal: StaticString) { message.append(literal) }

        /// Decimal.
        @inline(never)
        public mutating func appendInterpolation<T: BinaryInteger>(_ value: T) {
            if value < 0 { message.append(0x2D) }
            message.appendDecimal(UInt64(truncatingIfNeeded: value.magnitude))
        }

        @inline(never)
        public mutating func appendInterpolation<T: BinaryInteger>(hex value: T) {
            message.appendHex(UInt64(truncatingIfNeeded: value))
        }

        @inline(never)
        public mutating func appendInterpolation(_ address: PhysicalAddress) { message.appendHex(address.value) }

        /// "[0x1000000-0x4a00000)".
        @inline(never)
        public mutating func appendInterpolation(_ region: PhysicalRegion) {
            message.append("[")
            message.appendHex(region.start.value)
            message.append("-")
            message.appendHex(region.end.value)
            message.append(")")
        }

        @inline(never)
        public mutating func appendInterpolation(size bytes: UInt64) { message.appendSize(bytes) }

        @inline(never)
        public mutating func appendInterpolation(milliseconds microseconds: UInt64) {
            message.appendMilliseconds(microseconds: microseconds)
        }

#if !hasFeature(Embedded)
        @inline(never)
        public mutating func appendInterpolation(_ text: String) { message.append(text) }
#endif

        @inline(never)
        public mutating func appendInterpolation(_ text: StaticString) { message.append(text) }

        @inline(never)
        public mutating func appendInterpolation(_ other: Message) { message.append(message: other) }

        /// Bytes from outside (a command line, a file name), as they are.
        @inline(never)
        public mutating func appendInterpolation(bytes: UnsafeRawBufferPointer) { message.append(bytes: bytes) }

        /// "0x7f 0x45 0x4c 0x46".
        @inline(never)
        public mutating func appendInterpolation(hexBytes: [UInt8]) {
            for (index, byte) in hexBytes.enumerated() {
                if index > 0 { message.append(" ") }
                message.appendHex(UInt64(byte))
            }
        }
    }
}

#if !hasFeature(Embedded)
/// String forms of the same formatting, for host code and tests.
public enum Text {
    public static func hex(_ value: UInt64) -> String { Message("\(hex: value)").string }
    public static func hex(_ address: PhysicalAddress) -> String { hex(address.value) }
    public static func range(_ region: PhysicalRegion) -> String { Message("\(region)").string }
    public static func size(_ bytes: UInt64) -> String { Message("\(size: bytes)").string }
    public static func milliseconds(microseconds: UInt64) -> String { Message("\(milliseconds: microseconds)").string }
}

extension Message {
    init(_ message: Message) { self = message }
}
#endif
