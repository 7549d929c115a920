import Testing
@testable import ContainerImage

/// The block-parallel gzip writer: one valid gzip stream, whatever the
/// number of workers, that any inflater reads back to the input.
struct GzipCompressorTests {
    /// Compressible but not trivial: text-like runs with a changing counter,
    /// so matches cross the 1 MiB block boundaries.
    static func sample(count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        var line = 0
        while bytes.count < count {
            bytes.append(contentsOf: Array("line \(line) of the initramfs sample, \(line % 97) \(line * 31 % 1009)\n".utf8))
            line += 1
        }
        return Array(bytes.prefix(count))
    }

    static func gzip(_ input: [UInt8], workers: Int, writeSize: Int = 70_000) throws -> [UInt8] {
        let sink = MemorySink()
        let compressor = try GzipCompressor(sink, workers: workers)
        var offset = 0
        while offset < input.count {
            let end = min(offset + writeSize, input.count)
            try input[offset..<end].withUnsafeBytes { try compressor.write($0) }
            offset = end
        }
        try compressor.finish()
        return sink.bytes
    }

    static func gunzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let stream = try GzipDecompressor(MemoryStream(bytes), name: "test.gz")
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try stream.read(into: $0) }
            if count == 0 { return output }
            output.append(contentsOf: buffer[..<count])
        }
    }

    @Test func severalBlocksInflateBackToTheInput() throws {
        let input = Self.sample(count: 3 * GzipCompressor.blockSize + 12_345)
        let compressed = try Self.gzip(input, workers: 2)
        #expect(try Self.gunzip(compressed) == input)
        #expect(compressed.count < input.count / 4)
    }

    @Test func outputIsTheSameForAnyNumberOfWorkers() throws {
        let input = Self.sample(count: 2 * GzipCompressor.blockSize + 1)
        let one = try Self.gzip(input, workers: 1)
        #expect(try Self.gzip(input, workers: 4) == one)
        #expect(try Self.gzip(input, workers: 2, writeSize: 4096) == one)
    }

    @Test func headerIsReproducibleAndTrailerHoldsCRCAndSize() throws {
        let input = Self.sample(count: GzipCompressor.blockSize)
        let compressed = try Self.gzip(input, workers: 3)
        // Inflating with the gzip wrapper checks the trailer's CRC-32 and ISIZE.
        #expect(try Self.gunzip(compressed) == input)
        // RFC 1952: ID1 ID2 CM FLG, MTIME 0, XFL, OS 3.
        #expect(Array(compressed.prefix(10)) == [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3])
        let size = compressed.suffix(4).reversed().reduce(0) { $0 << 8 | Int($1) }
        #expect(size == input.count)
    }

    @Test func emptyInputIsAnEmptyGzipStream() throws {
        let compressed = try Self.gzip([], workers: 2)
        #expect(try Self.gunzip(compressed) == [])
        #expect(compressed.count == 10 + 2 + 8)
    }

    @Test func eachBlockIsPrimedWithTheInputBeforeIt() throws {
        // 20 KiB of incompressible bytes, repeated: in one deflate stream
        // every copy after the first is matches. A block compressed on its
        // own would pay for the 20 KiB again; primed with the previous
        // block's last 32 KiB it stays all matches.
        let pattern = Self.sample(count: 20 << 10).map { $0 ^ 0x5A }.shuffledDeterministically()
        let repeated = (0..<(2 * GzipCompressor.blockSize / pattern.count + 1)).flatMap { _ in pattern }
        let oneBlock = try Self.gzip(Array(repeated.prefix(GzipCompressor.blockSize)), workers: 2)
        let twoBlocks = try Self.gzip(Array(repeated.prefix(2 * GzipCompressor.blockSize)), workers: 2)
        // A MiB of 258-byte matches is about 7 KiB; unprimed it would be 27 KiB or more.
        #expect(twoBlocks.count - oneBlock.count < 12 << 10)
    }
}

extension Array where Element == UInt8 {
    /// A fixed permutation (a linear congruential generator), so the bytes
    /// barely compress on their own.
    func shuffledDeterministically() -> [UInt8] {
        var copy = self
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        for index in stride(from: copy.count - 1, to: 0, by: -1) {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            copy.swapAt(index, Int(state >> 33) % (index + 1))
        }
        return copy
    }
}
