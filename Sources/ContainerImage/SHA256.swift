import CCrypto

// SHA-256 through OpenSSL's libcrypto: image digests are SHA-256, Linux's
// Foundation has no CryptoKit, and every layer byte is hashed (twice for
// compressed layers: blob and diff_id), so it has to be fast (a plain Swift
// version ran at about 40 MB/s; libcrypto uses the CPU's SHA instructions).

public struct SHA256 {
    private final class Context {
        let pointer: OpaquePointer
        init() {
            pointer = EVP_MD_CTX_new()
            EVP_DigestInit_ex(pointer, EVP_sha256(), nil)
        }
        deinit { EVP_MD_CTX_free(pointer) }
    }

    private let context = Context()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context.pointer, base, bytes.count)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest as lowercase hex; the hasher is spent afterwards.
    public mutating func finalizeHex() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context.pointer, &digest, &length)
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        for byte in digest { hex.append(digits[Int(byte >> 4)]); hex.append(digits[Int(byte & 0xf)]) }
        return String(decoding: hex, as: UTF8.self)
    }

    public static func hex(of bytes: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalizeHex()
    }
}

/// Passes bytes through while hashing them; at the end checks the digest
/// ("sha256:<hex>") and throws a mismatch naming the blob.
final class DigestVerifyingStream: ByteStream {
    private let base: ByteStream
    private let expected: String
    private let name: String
    private var hasher = SHA256()
    private var finished = false

    init(_ base: ByteStream, expectedDigest: String, name: String) {
        self.base = base
        self.expected = expectedDigest
        self.name = name
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try base.read(into: buffer)
        if n > 0 {
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        } else if !finished {
            finished = true
            let actual = "sha256:" + hasher.finalizeHex()
            if actual != expected {
                throw ContainerImageError.digestMismatch(file: name, expected: expected, actual: actual)
            }
        }
        return n
    }
}

/// Accepts only sha256 digests, the only algorithm images use in practice.
func validatedDigest(_ digest: String, in file: String) throws -> String {
    let parts = digest.split(separator: ":", maxSplits: 1)
    guard parts.count == 2, parts[0] == "sha256", parts[1].count == 64,
          parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
        throw ContainerImageError.malformedMetadata(file: file, reason: "unsupported or malformed digest \"\(digest)\" (only sha256:<64 hex> is supported)")
    }
    return digest
}
