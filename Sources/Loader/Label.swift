/// A short name kept inline: a fw_cfg file name (at most 56 bytes, QEMU's
/// FW_CFG_MAX_FILE_PATH) or a zone's name. No heap and no Unicode
/// machinery, so the firmware can carry names in errors; the host reads
/// them back as Strings.
public struct Label: Equatable, Sendable, ExpressibleByStringLiteral {
    public static let capacity = 56
    var storage: InlineArray<56, UInt8>
    public private(set) var count: Int

    /// The bytes up to `capacity`; longer input is cut short.
    public init(bytes: UnsafeRawBufferPointer) {
        storage = InlineArray(repeating: 0)
        count = min(bytes.count, Label.capacity)
        for index in 0..<count { storage[index] = bytes[index] }
    }

    public init(stringLiteral literal: StaticString) {
        self.init(bytes: UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        let length = count
        return storage.span.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }

#if !hasFeature(Embedded)
    public init(_ string: String) {
        var copy = string
        self = copy.withUTF8 { Label(bytes: UnsafeRawBufferPointer($0)) }
    }

    public var string: String { withBytes { String(decoding: $0, as: UTF8.self) } }
#endif

    public static func == (a: Label, b: Label) -> Bool {
        guard a.count == b.count else { return false }
        for index in 0..<a.count where a.storage[index] != b.storage[index] { return false }
        return true
    }
}

extension Message.StringInterpolation {
    public mutating func appendInterpolation(_ label: Label) {
        label.withBytes { message.append(bytes: $0) }
    }
}
