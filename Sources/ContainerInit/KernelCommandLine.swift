// Arguments after "--" on the kernel command line replace the image's CMD,
// as `docker run IMAGE ARGS` does. /proc/cmdline is parsed here (rather
// than trusting argv) because the kernel also hands init every unknown
// boot option before "--". Quoting follows the kernel's own parser: double
// quotes group words, and are removed around a whole argument or a value.
// After "--", %XX (two hex digits) stands for that byte: `stage0 run`
// encodes spaces, quotes and control characters that way, since the kernel
// cannot carry them otherwise.

/// The words after "--", or nil when there is no "--" (or nothing after it).
func argumentsAfterDashes(_ commandLine: String) -> [String]? {
    let words = kernelCommandLineWords(commandLine)
    guard let dashes = words.firstIndex(of: "--") else { return nil }
    let rest = words[(dashes + 1)...].map(percentDecoded)
    return rest.isEmpty ? nil : rest
}

func kernelCommandLineWords(_ commandLine: String) -> [String] {
    var words: [String] = []
    var current: [UInt8] = []
    var inQuote = false
    var inWord = false
    for byte in commandLine.utf8 {
        let isSpace = byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d
        if isSpace && !inQuote {
            if inWord { words.append(unquoted(current)); current = []; inWord = false }
            continue
        }
        inWord = true
        if byte == UInt8(ascii: "\"") { inQuote.toggle() }
        current.append(byte)
    }
    if inWord { words.append(unquoted(current)) }
    return words
}

private func unquoted(_ word: [UInt8]) -> String {
    let quote = UInt8(ascii: "\"")
    var bytes = word
    if bytes.first == quote {
        bytes.removeFirst()
        if bytes.last == quote { bytes.removeLast() }
    } else if let equals = bytes.firstIndex(of: UInt8(ascii: "=")), equals + 1 < bytes.count, bytes[equals + 1] == quote {
        bytes.remove(at: equals + 1)
        if bytes.last == quote { bytes.removeLast() }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// "%41" -> "A"; a '%' not followed by two hex digits stays as it is.
func percentDecoded(_ word: String) -> String {
    let bytes = Array(word.utf8)
    guard bytes.contains(UInt8(ascii: "%")) else { return word }
    func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }
    var result: [UInt8] = []
    var index = 0
    while index < bytes.count {
        if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
           let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
            result.append(high << 4 | low)
            index += 3
        } else {
            result.append(bytes[index])
            index += 1
        }
    }
    return String(decoding: result, as: UTF8.self)
}
