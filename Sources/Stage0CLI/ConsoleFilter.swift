// What `stage0 run` shows of the serial console. The firmware's log lines
// ("stage0: ...") and the kernel's ("[    0.123456] ...") are boot noise and
// hidden unless --verbose; everything else is the container's output and
// is passed on as it arrives (partial lines included, so prompts show).
// The /init's "STAGE0_EXIT_STATUS=<n>" line ends the container: it is
// parsed, not shown, and nothing after it is. "\r\n" from the tty becomes
// "\n", as `docker run` without -t prints.

struct ConsoleFilter {
    static let marker = Array("STAGE0_EXIT_STATUS=".utf8)
    private static let firmwarePrefix = Array("stage0: ".utf8)

    let showBootLog: Bool
    private(set) var exitStatus: Int32?
    /// The hidden lines, kept for the error report when no status comes.
    private(set) var hiddenTail: [String] = []
    private var line: [UInt8] = []
    /// How much of `line` has been passed on already.
    private var emitted = 0
    private var hidingLine = false
    private var lineVisible = false
    private var pendingCarriageReturn = false

    init(showBootLog: Bool) { self.showBootLog = showBootLog }

    /// Feeds console bytes; returns what to print now.
    mutating func feed(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        for byte in bytes {
            if exitStatus != nil { break }
            if pendingCarriageReturn {
                pendingCarriageReturn = false
                if byte != 0x0a { append(0x0d, to: &output) }
            }
            if byte == 0x0d { pendingCarriageReturn = true; continue }
            append(byte, to: &output)
        }
        return output
    }

    private mutating func append(_ byte: UInt8, to output: inout [UInt8]) {
        line.append(byte)
        if let markerStart = find(Self.marker, in: line, from: emitted) {
            // Whatever came before the marker on its line is container output.
            if !hidingLine, markerStart > emitted { output += line[emitted..<markerStart] }
            emitted = max(emitted, markerStart)
            parseStatusWhenComplete(from: markerStart)
            return
        }
        if byte == 0x0a {
            endLine(&output)
            return
        }
        if hidingLine { return }
        if !lineVisible {
            if line.count <= 16 && couldBeBootNoise(line) { return } // undecided yet: hold it
            if isBootNoise(line) && !showBootLog { hidingLine = true; return }
            lineVisible = true
        }
        // Pass through all but a tail that could still become the marker.
        let holdBack = longestMarkerPrefixSuffix(line[emitted...])
        let end = line.count - holdBack
        if end > emitted { output += line[emitted..<end]; emitted = end }
        if emitted > 4096 { line.removeFirst(emitted); emitted = 0 } // bound a long line
    }

    private mutating func endLine(_ output: inout [UInt8]) {
        let hide = hidingLine || (!lineVisible && isBootNoise(line) && !showBootLog)
        if hide {
            hiddenTail.append(String(decoding: line.dropLast(), as: UTF8.self))
            if hiddenTail.count > 40 { hiddenTail.removeFirst() }
        } else if emitted < line.count {
            output += line[emitted...]
        }
        line = []
        emitted = 0
        hidingLine = false
        lineVisible = false
    }

    private mutating func parseStatusWhenComplete(from start: Int) {
        // The status is complete once a non-digit follows it (the newline).
        let digits = line[(start + Self.marker.count)...]
        if let last = digits.last, last < 0x30 || last > 0x39 {
            exitStatus = Int32(String(decoding: digits.dropLast(), as: UTF8.self)) ?? 125
        }
    }

    private func couldBeBootNoise(_ bytes: [UInt8]) -> Bool {
        if bytes.first == UInt8(ascii: "[") { return true }
        return Self.firmwarePrefix.starts(with: bytes)
    }

    /// "stage0: ..." (the firmware) or "[  123.456789] ..." (the kernel).
    private func isBootNoise(_ bytes: [UInt8]) -> Bool {
        if bytes.starts(with: Self.firmwarePrefix) { return true }
        guard bytes.first == UInt8(ascii: "[") , let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return false }
        let inside = bytes[1..<close]
        return !inside.isEmpty && inside.allSatisfy { $0 == 0x20 || $0 == UInt8(ascii: ".") || ($0 >= 0x30 && $0 <= 0x39) }
    }

    private func longestMarkerPrefixSuffix(_ bytes: ArraySlice<UInt8>) -> Int {
        var length = min(bytes.count, Self.marker.count - 1)
        while length > 0 {
            if bytes.suffix(length).elementsEqual(Self.marker.prefix(length)) { return length }
            length -= 1
        }
        return 0
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard haystack.count - from >= needle.count else { return nil }
        for start in from...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
        }
        return nil
    }
}
