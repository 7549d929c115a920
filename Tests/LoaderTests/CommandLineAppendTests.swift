// What the firmware adds to the kernel command line (tsc_early_khz= under
// TCG): whether the user already passed the parameter, and appending it.

import Testing
@testable import Loader

func hasParameter(_ prefix: StaticString, in line: String) -> Bool {
    Array(line.utf8).withUnsafeBytes { KernelCommandLine.hasParameter(prefix, in: $0) }
}

/// Appends `word` to `line` in a buffer of `capacity` bytes first filled
/// with 0xFF; returns the new length and the whole buffer.
func appended(_ word: String, to line: String, capacity: Int = 64,
              kernelLimit: UInt64 = 2047) throws -> (length: Int, buffer: [UInt8]) {
    var buffer = [UInt8](repeating: 0xFF, count: capacity)
    let lineBytes = Array(line.utf8)
    buffer.replaceSubrange(0..<lineBytes.count, with: lineBytes)
    let length = try buffer.withUnsafeMutableBytes { bytes throws(BootError) in
        try KernelCommandLine.append(word, to: bytes, length: lineBytes.count, kernelLimit: kernelLimit)
    }
    return (length, buffer)
}

@Suite("kernel command line: finding a parameter")
struct CommandLineHasParameterTests {
    @Test("a parameter at the start of the line is found")
    func atStart() {
        #expect(hasParameter("tsc_early_khz=", in: "tsc_early_khz=2400000 console=ttyS0"))
    }

    @Test("a parameter in the middle of the line is found")
    func inMiddle() {
        #expect(hasParameter("tsc_early_khz=", in: "console=ttyS0 tsc_early_khz=2400000 quiet"))
    }

    @Test("a parameter that ends the line is found")
    func atEnd() {
        #expect(hasParameter("tsc_early_khz=", in: "console=ttyS0 quiet tsc_early_khz=1"))
    }

    @Test("a parameter after several spaces is found")
    func afterSeveralSpaces() {
        #expect(hasParameter("tsc_early_khz=", in: "quiet   tsc_early_khz=1"))
    }

    @Test("the parameter inside another word does not count")
    func insideAnotherWord() {
        #expect(!hasParameter("tsc_early_khz=", in: "xtsc_early_khz=1"))
        #expect(!hasParameter("tsc_early_khz=", in: "console=ttyS0 xtsc_early_khz=1 quiet"))
        #expect(!hasParameter("tsc_early_khz=", in: "foo=tsc_early_khz=1"))
    }

    @Test("a last word that is only the start of the parameter does not count")
    func lastWordShorterThanParameter() {
        #expect(!hasParameter("tsc_early_khz=", in: "quiet tsc_early"))
        #expect(!hasParameter("tsc_early_khz=", in: "quiet tsc_early_khz"))   // no "="
        #expect(!hasParameter("tsc_early_khz=", in: "tsc"))
    }

    @Test("an empty line has no parameters")
    func emptyLine() {
        #expect(!hasParameter("tsc_early_khz=", in: ""))
        #expect(!hasParameter("tsc_early_khz=", in: " "))
    }

    @Test("bytes past the line's length are not part of it")
    func boundedByLength() {
        let page = Array("quiet tsc_early_khz=1".utf8)
        #expect(page.withUnsafeBytes { KernelCommandLine.hasParameter("tsc_early_khz=", in: UnsafeRawBufferPointer(rebasing: $0[0..<12])) } == false)
        #expect(page.withUnsafeBytes { KernelCommandLine.hasParameter("tsc_early_khz=", in: $0) })
    }

    // Linux splits the command line at any isspace() character (lib/cmdline.c,
    // next_arg), so a tab or a newline (kept inside the line, see
    // CommandLineTests) separates parameters too; the firmware would then
    // append a second tsc_early_khz= that overrides the user's.
    @Test("a parameter after a tab or a newline is found, as Linux would find it")
    func afterOtherWhitespace() {
        #expect(hasParameter("tsc_early_khz=", in: "quiet\ttsc_early_khz=1"))
        #expect(hasParameter("tsc_early_khz=", in: "quiet\ntsc_early_khz=1"))
    }
}

@Suite("kernel command line: appending a parameter")
struct CommandLineAppendTests {
    @Test("appending to an empty line adds no leading space")
    func toEmptyLine() throws {
        let (length, buffer) = try appended("tsc_early_khz=2400000", to: "")
        #expect(length == 21)
        #expect(Array(buffer[0..<22]) == Array("tsc_early_khz=2400000".utf8) + [0])
    }

    @Test("appending to a non-empty line puts one space before the word")
    func toNonEmptyLine() throws {
        let (length, buffer) = try appended("tsc_early_khz=2400000", to: "console=ttyS0")
        #expect(length == 13 + 1 + 21)
        #expect(String(decoding: buffer[0..<length], as: UTF8.self) == "console=ttyS0 tsc_early_khz=2400000")
    }

    @Test("the result is NUL-terminated right after its last byte, and nothing after is touched")
    func nulTerminated() throws {
        let (length, buffer) = try appended("quiet", to: "console=ttyS0")
        #expect(buffer[length] == 0)
        #expect(buffer[(length + 1)...].allSatisfy { $0 == 0xFF })
    }

    @Test("a result exactly at the kernel's limit fits")
    func exactlyAtLimit() throws {
        // "console=ttyS0" + " " + "quiet" = 19 bytes.
        let (length, buffer) = try appended("quiet", to: "console=ttyS0", kernelLimit: 19)
        #expect(length == 19)
        #expect(buffer[19] == 0)
    }

    @Test("one byte over the kernel's limit throws commandLineTooLong with both lengths, and the line is unchanged")
    func overLimit() {
        #expect(throws: BootError.commandLineTooLong(length: 19, limit: 18)) {
            try appended("quiet", to: "console=ttyS0", kernelLimit: 18)
        }
        var buffer = [UInt8](repeating: 0xFF, count: 64)
        buffer.replaceSubrange(0..<13, with: Array("console=ttyS0".utf8))
        let before = buffer
        _ = try? buffer.withUnsafeMutableBytes { bytes throws(BootError) in
            try KernelCommandLine.append("quiet", to: bytes, length: 13, kernelLimit: 18)
        }
        #expect(buffer == before)
    }

    @Test("on an empty line the limit counts no space")
    func emptyLineLimit() throws {
        #expect(try appended("quiet", to: "", kernelLimit: 5).length == 5)
        #expect(throws: BootError.commandLineTooLong(length: 5, limit: 4)) {
            try appended("quiet", to: "", kernelLimit: 4)
        }
    }

    @Test("the buffer, less its NUL, limits the result when smaller than the kernel's limit")
    func bufferLimit() throws {
        #expect(try appended("quiet", to: "console=ttyS0", capacity: 20).length == 19)
        #expect(throws: BootError.commandLineTooLong(length: 19, limit: 18)) {
            try appended("quiet", to: "console=ttyS0", capacity: 19)
        }
    }
}
