// The kernel command line from opt/stage0/cmdline: its length, and the
// kernel's and the firmware buffer's limits.

import Testing
@testable import Loader

func commandLineLength(_ text: String, nuls: Int = 0) -> Int {
    let bytes = Array(text.utf8) + [UInt8](repeating: 0, count: nuls)
    return bytes.withUnsafeBytes { KernelCommandLine.length(of: $0) }
}

@Suite("kernel command line")
struct CommandLineTests {
    @Test("a command line without terminator is all of its bytes")
    func plain() {
        #expect(commandLineLength("console=ttyS0 quiet") == 19)
        #expect(commandLineLength("") == 0)
    }

    @Test("trailing NULs are not part of it")
    func trailingNULs() {
        #expect(commandLineLength("console=ttyS0", nuls: 3) == 13)
    }

    @Test("a trailing newline (a file written with echo) is not part of it")
    func trailingNewline() {
        #expect(commandLineLength("console=ttyS0\n") == 13)
        #expect(commandLineLength("console=ttyS0\n", nuls: 2) == 13)
        #expect(commandLineLength("console=ttyS0\r\n") == 13)
        #expect(commandLineLength("\n") == 0)
    }

    @Test("a newline inside it stays")
    func innerNewline() {
        #expect(commandLineLength("quiet\ninit=/bin/sh") == 18)
    }

    @Test("a NUL ends it, as in C")
    func nulEndsIt() {
        #expect(commandLineLength("quiet\u{0}init=/bin/sh") == 5)
    }

    @Test("a command line exactly at the kernel's limit passes")
    func atLimit() throws {
        try KernelCommandLine.check(length: 2047, kernelLimit: 2047, bufferCapacity: 0x8000)
    }

    @Test("one byte over the kernel's limit fails, with both lengths in the error")
    func oneOverLimit() {
        let error = BootError.commandLineTooLong(length: 2048, limit: 2047)
        #expect(throws: error) { try KernelCommandLine.check(length: 2048, kernelLimit: 2047, bufferCapacity: 0x8000) }
        #expect(error.what == "the command line is 2048 bytes, longer than the kernel accepts (2047 bytes)")
    }

    @Test("the firmware's buffer, less the NUL, limits it when smaller than the kernel's limit")
    func bufferLimit() throws {
        try KernelCommandLine.check(length: 1023, kernelLimit: 2047, bufferCapacity: 1024)
        #expect(throws: BootError.commandLineTooLong(length: 1024, limit: 1023)) {
            try KernelCommandLine.check(length: 1024, kernelLimit: 2047, bufferCapacity: 1024)
        }
    }
}
