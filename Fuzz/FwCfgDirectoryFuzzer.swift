// libFuzzer target: the fw_cfg probe and file-directory parser.
//
// Input: [flags u8][the FW_CFG_FILE_DIR item: be32 count, 64-byte entries...]
//   flags bits 0-1: XORed into the features (0: port I/O + DMA, as QEMU);
//   bit 2: prefer port I/O; bit 3: a wrong signature.
// The fake device serves the directory as given and items 0x20..0x3F (the
// selectors QEMU gives files) with 300 bytes each. Then, as Boot.swift does:
// every entry listed, the firmware's file names looked up, every file read
// (its first KiB, and its last bytes), the legacy -kernel/-initrd/-append items.

@_cdecl("LLVMFuzzerTestOneInput")
public func fwCfgDirectoryFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let flags = input.u8()
    let directory = input.rest()
    do {
        try runDirectory(directory, flags: flags)
    } catch {
        _ = error.what + error.hint
    }
    return 0
}

let firmwareFileNames: [StaticString] = [
    "opt/stage0/elf_kernel", "opt/stage0/initramfs", "opt/stage0/cmdline", "etc/e820", "etc/table-loader",
]

func runDirectory(_ directoryBytes: [UInt8], flags: UInt8) throws(BootError) {
    let device = FuzzFwCfg(features: UInt32(flags & 3) ^ 3, signature: flags & 8 != 0 ? Array("QEMV".utf8) : Array("QEMU".utf8))
    for selector in UInt16(0x20)...0x3F {
        device.setItem(selector, bytes: (0..<300).map { UInt8(truncatingIfNeeded: Int(selector) &* 7 &+ $0) })
    }
    device.setRawDirectory(directoryBytes)
    let fwCfg = try FwCfg(ports: device, prefersPortIO: flags & 4 != 0)
    let directory = fwCfg.directory
    // The count as the device serves it: bytes past a short item read as 0.
    let count = Array(directoryBytes.prefix(4)) + [UInt8](repeating: 0, count: max(0, 4 - directoryBytes.count))
    let declared = Int(UInt32(count[0]) << 24 | UInt32(count[1]) << 16 | UInt32(count[2]) << 8 | UInt32(count[3]))
    expect(directory.count == declared, "directory count \(directory.count), the device said \(declared)")

    var files: [FwCfgFile] = []
    for index in 0..<directory.count {
        let file = directory.file(at: index)
        expect(file.name.utf8.count <= FwCfgDirectory.nameSize * 3, "name length")
        files.append(file)
    }
    // Looking a file up by its own name finds the first entry of that name.
    var firstIndex: [[UInt8]: Int] = [:]
    var rawNames: [[UInt8]] = []
    for index in 0..<directory.count {
        let base = index * FwCfgDirectory.entrySize + 8
        let rawName = Array(directory.entries[base..<(base + FwCfgDirectory.nameSize)].prefix { $0 != 0 })
        rawNames.append(rawName)
        if firstIndex[rawName] == nil { firstIndex[rawName] = index }
    }
    // Every name once (a lookup is a linear scan: all of them would be quadratic).
    for (rawName, first) in firstIndex {
        let found = rawName.withUnsafeBytes { directory.file(named: $0) }
        if rawName.count < FwCfgDirectory.nameSize {
            expect(found == files[first], "lookup of entry \(first)'s name found another entry")
        } else {
            expect(found == nil, "a 56-byte name without NUL was found")
        }
    }
    for name in firmwareFileNames {
        if let file = directory.file(named: name) { expect(file.name == String(describing: name), "firmware file name") }
    }

    for file in files {
        let head = ScratchBuffer(count: Int(min(file.size, 1024)))
        try fwCfg.read(file, into: head.bytes)
        // Over port I/O the driver skips to an offset by reading (as on the real device):
        // the tails of files declared gigabytes long would take seconds each.
        if file.size > 16 && (fwCfg.usesDMA || file.size <= mebibyte) {
            let tail = ScratchBuffer(count: 16)
            try fwCfg.read(file, at: file.size - 16, into: tail.bytes)
        }
    }
    _ = fwCfg.legacyItem(.kernelData, sizeIn: .kernelSize, name: "KERNEL_DATA (-kernel)")
    _ = fwCfg.legacyItem(.initrdData, sizeIn: .initrdSize, name: "INITRD_DATA (-initrd)")
    _ = fwCfg.legacyItem(.commandLineData, sizeIn: .commandLineSize, name: "CMDLINE_DATA (-append)")
    _ = fwCfg.readLegacy32(.ramSize)
}
