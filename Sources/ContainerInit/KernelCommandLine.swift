// Arguments after "--" on the kernel command line replace the image's CMD,
// as `docker run IMAGE ARGS` does. /proc/cmdline is parsed here (rather
// than trusting argv) because the kernel also hands init every unknown
// boot option before "--". Quoting follows the kernel's own parser: double
// quotes group words, and are removed around a whole argument or a value.

/// The words after "--", or nil when there is no "--" (or nothing after it).
func argumentsAfterDashes(_ commandLine: String) -> [String]? {
    let words = kernelCommandLineWords(commandLine)
    guard let dashes = words.firstIndex(of: "--") else { return nil }
    let rest = Array(words[(dashes + 1)...])
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
