import ECDCOpenSSL

/// Cryptographically secure random bytes from OpenSSL's CSPRNG.
public enum SecureRandom {
    /// `count` random bytes. Throws `randomFailed` when `RAND_bytes` does not return 1.
    public static func bytes(_ count: Int) throws -> [UInt8] {
        precondition(count >= 0, "negative byte count")
        guard count > 0 else { return [] }
        guard count <= Int(Int32.max) else { throw CryptoError.invalidInput("byte count too large") }
        var out = [UInt8](repeating: 0, count: count)
        let result = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        guard result == 1 else {
            OpenSSLErrorQueue.clear()
            throw CryptoError.randomFailed
        }
        return out
    }

    /// A URL-safe unguessable token: `byteCount` random bytes, base64url without padding.
    public static func token(byteCount: Int = 32) throws -> String {
        Base64.encodeURL(try bytes(byteCount))
    }
}

/// Comparison whose duration does not depend on where the inputs differ.
public enum ConstantTime {
    /// True when `a` and `b` are equal. Unequal lengths return false at once: lengths are not
    /// secret for MACs and tokens of fixed size.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in
                CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0
            }
        }
    }
}
