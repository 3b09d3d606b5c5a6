import ECDCOpenSSL

/// HMAC-SHA-256 through OpenSSL's one-shot `HMAC()` (no `HMAC_CTX`, deprecated in 3.0).
public enum HMACSHA256 {
    public static let byteCount = 32

    /// The 32-byte MAC of `message` under `key`. Any key length is valid (RFC 2104).
    public static func mac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var outLength: UInt32 = 0
        // A non-nil pointer even for empty input: OpenSSL treats a NULL key as "reuse the
        // previous key", which is not what an empty key means.
        let dummy: [UInt8] = [0]
        let result = withNonNilBase(key, dummy) { keyPointer, keyCount in
            withNonNilBase(message, dummy) { messagePointer, messageCount in
                HMAC(EVP_sha256(), keyPointer, Int32(keyCount), messagePointer, messageCount,
                     &out, &outLength)
            }
        }
        // HMAC-SHA-256 fails only on allocation failure inside OpenSSL.
        guard result != nil, outLength == UInt32(byteCount) else {
            preconditionFailure("\(OpenSSLErrorQueue.capture(call: "HMAC"))")
        }
        return Array(out.prefix(byteCount))
    }
}

/// SHA-256 through `EVP_Digest`.
public enum SHA256Digest {
    public static let byteCount = 32

    public static func hash(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var outLength: UInt32 = 0
        let ok = withNonNilBase(data, [0]) { pointer, count in
            EVP_Digest(pointer, count, &out, &outLength, EVP_sha256(), nil)
        }
        guard ok == 1, outLength == UInt32(byteCount) else {
            preconditionFailure("\(OpenSSLErrorQueue.capture(call: "EVP_Digest"))")
        }
        return Array(out.prefix(byteCount))
    }
}

/// Calls `body` with a pointer that is never nil (an empty array may have no storage) and the
/// real element count.
@inline(__always)
func withNonNilBase<R>(
    _ bytes: [UInt8], _ fallback: [UInt8],
    _ body: (UnsafePointer<UInt8>, Int) throws -> R
) rethrows -> R {
    try bytes.withUnsafeBufferPointer { buffer in
        if let base = buffer.baseAddress { return try body(base, buffer.count) }
        return try fallback.withUnsafeBufferPointer { try body($0.baseAddress!, 0) }
    }
}
