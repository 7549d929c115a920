// The /init runs before anything else exists in the VM, from an image that
// may have no libc at all: it must be a static x86_64 ELF executable. A
// dynamically linked one (e.g. SwiftPM's host build) would make the kernel
// panic with "No working init found", so it is refused here instead.

func checkStaticInitBinary(_ path: String) throws {
    let stream = try FileStream(path: path)
    var header = [UInt8](repeating: 0, count: 64)
    let n = try header.withUnsafeMutableBytes { try stream.readFully(into: $0) }
    func le16(_ at: Int) -> Int { Int(header[at]) | Int(header[at + 1]) << 8 }
    func le64(_ bytes: [UInt8], _ at: Int) -> Int64 {
        (0..<8).reduce(Int64(0)) { $0 | Int64(bytes[at + $1]) << (8 * Int64($1)) }
    }
    guard n == 64, header[0..<4].elementsEqual([0x7f, 0x45, 0x4c, 0x46]), header[4] == 2, le16(18) == 62 else {
        throw ContainerImageError.invalidOption(option: path, reason: "the init binary is not an x86_64 ELF executable")
    }
    let tableOffset = le64(header, 32)
    let entrySize = le16(54)
    let count = le16(56)
    guard entrySize >= 56, count < 256 else {
        throw ContainerImageError.invalidOption(option: path, reason: "the init binary has a malformed program header table")
    }
    let table = try FileStream(path: path, offset: tableOffset, length: Int64(entrySize * count))
    let bytes = try table.readAll(limit: entrySize * count, name: path)
    for index in 0..<count where bytes.count >= (index + 1) * entrySize {
        let type = UInt32(bytes[index * entrySize]) | UInt32(bytes[index * entrySize + 1]) << 8
        if type == 3 { // PT_INTERP
            throw ContainerImageError.invalidOption(option: path, reason: "the init binary is dynamically linked; build the static one with `make container-tools`")
        }
    }
}
