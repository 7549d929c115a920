// The "newc" cpio format the kernel unpacks into its rootfs: a 110-byte
// ASCII header, the NUL-terminated name, the data, each padded to 4 bytes,
// ending with a TRAILER!!! entry. Data is copied from a stream in chunks.

enum CpioFileType: UInt32 {
    case fifo = 0o010000, characterDevice = 0o020000, directory = 0o040000, blockDevice = 0o060000
    case regular = 0o100000, symbolicLink = 0o120000
}

struct CpioHeader {
    var path: String
    var type: CpioFileType
    var permissions: UInt32
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    var inode: UInt32
    var linkCount: UInt32 = 1
    var size: Int64 = 0
    var deviceMajor: UInt32 = 0
    var deviceMinor: UInt32 = 0
}

final class CpioWriter {
    private let sink: ByteSink
    /// Every entry gets mtime 0: the archive depends only on the content.
    private let fixedModificationTime: UInt32 = 0

    init(sink: ByteSink) { self.sink = sink }

    /// Writes one entry; `data` must supply exactly `header.size` bytes.
    func write(_ header: CpioHeader, data: ByteStream? = nil) throws {
        try write(header, data: data, isTrailer: false)
    }

    private func write(_ header: CpioHeader, data: ByteStream?, isTrailer: Bool) throws {
        // Linux (init/initramfs.c) reads a name up to its first NUL, and a
        // name "TRAILER!!!" ends the archive: either would unpack as
        // something other than what was written.
        guard !header.path.utf8.contains(0) else {
            throw ContainerImageError.unrepresentable(entry: header.path, reason: "the path holds a NUL byte, which ends a name in an initramfs")
        }
        guard isTrailer || header.path != Self.trailerName else {
            throw ContainerImageError.unrepresentable(entry: header.path, reason: "an entry named \(Self.trailerName) would end the initramfs")
        }
        guard header.size <= Int64(UInt32.max) else {
            throw ContainerImageError.unrepresentable(entry: header.path, reason: "\(header.size) bytes; newc cpio holds files below 4 GiB")
        }
        let nameBytes = Array(header.path.utf8) + [0]
        var bytes = Array("070701".utf8)
        let fields: [UInt32] = [
            header.inode, header.type.rawValue | (header.permissions & 0o7777), header.uid, header.gid,
            header.linkCount, fixedModificationTime, UInt32(header.size), 0, 0,
            header.deviceMajor, header.deviceMinor, UInt32(nameBytes.count), 0,
        ]
        for field in fields { bytes += hex8(field) }
        bytes += nameBytes
        bytes += padding(bytes.count)
        try sink.write(bytes)
        if header.size > 0 {
            guard let data else { throw ContainerImageError.unrepresentable(entry: header.path, reason: "no data supplied") }
            try copy(header.size, from: data, entry: header.path)
            try sink.write(padding(Int(header.size % 4)))
        }
    }

    static let trailerName = "TRAILER!!!"

    func writeTrailer() throws {
        try write(CpioHeader(path: Self.trailerName, type: CpioFileType(rawValue: 0o100000)!, permissions: 0, inode: 0, linkCount: 1),
                  data: nil, isTrailer: true)
    }

    private func copy(_ count: Int64, from data: ByteStream, entry: String) throws {
        var remaining = count
        try withScratchBuffer { scratch in
            while remaining > 0 {
                let chunk = Int(min(Int64(scratch.count), remaining))
                let n = try data.read(into: UnsafeMutableRawBufferPointer(rebasing: scratch[..<chunk]))
                guard n > 0 else {
                    throw ContainerImageError.unrepresentable(entry: entry, reason: "its data ended \(remaining) bytes early")
                }
                try sink.write(UnsafeRawBufferPointer(rebasing: scratch[..<n]))
                remaining -= Int64(n)
            }
        }
    }

    private func padding(_ length: Int) -> [UInt8] { [UInt8](repeating: 0, count: (4 - length % 4) % 4) }

    private func hex8(_ value: UInt32) -> [UInt8] {
        let digits = Array("0123456789ABCDEF".utf8)
        return (0..<8).map { digits[Int((value >> UInt32(28 - 4 * $0)) & 0xf)] }
    }
}
