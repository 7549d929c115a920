/// Number formatting for log lines and error messages. Written out by hand:
/// the Embedded standard library has no String(format:) and the firmware
/// must not pull in Unicode tables.
public enum Text {
    public static func hex(_ value: UInt64) -> String {
        let digits: StaticString = "0123456789abcdef"
        var buffer: [UInt8] = []
        var rest = value
        repeat {
            buffer.append(digits.utf8Start[Int(rest & 0xF)])
            rest >>= 4
        } while rest != 0
        return "0x" + String(decoding: buffer.reversed(), as: UTF8.self)
    }

    public static func hex(_ address: PhysicalAddress) -> String { hex(address.value) }

    /// "[0x1000000-0x4a00000)".
    public static func range(_ region: PhysicalRegion) -> String {
        "[" + hex(region.start) + "-" + hex(region.end) + ")"
    }

    /// Byte counts the way people read them: "512 B", "64 KiB", "1.5 MiB".
    public static func size(_ bytes: UInt64) -> String {
        let units: [(UInt64, String)] = [(gibibyte, "GiB"), (mebibyte, "MiB"), (kibibyte, "KiB")]
        for (unit, name) in units where bytes >= unit {
            let whole = bytes / unit
            let tenths = (bytes % unit) * 10 / unit
            return tenths == 0 ? "\(whole) \(name)" : "\(whole).\(tenths) \(name)"
        }
        return "\(bytes) B"
    }

    /// Microseconds as milliseconds with three decimals: "12.345 ms".
    public static func milliseconds(microseconds: UInt64) -> String {
        let fraction = microseconds % 1000
        let padding = fraction < 10 ? "00" : (fraction < 100 ? "0" : "")
        return "\(microseconds / 1000).\(padding)\(fraction) ms"
    }
}
