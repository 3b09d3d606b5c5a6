import ECDCOpenSSL

/// Every failure of ECDCrypto. Messages name what is wrong, never key material or plaintext.
public enum CryptoError: Error, Sendable, Equatable {
    /// The GCM tag did not verify: wrong key, tampered ciphertext, nonce, tag or associated data.
    case authenticationFailed
    /// A key is unusable; the message says why (length, duplicate id…), never the key itself.
    case invalidKey(String)
    /// An envelope is truncated, has an unknown version or a malformed header.
    case malformedEnvelope
    /// An envelope names a key id that is not in the keyring.
    case unknownKeyID(String)
    /// `RAND_bytes` reported failure; no bytes were returned.
    case randomFailed
    /// An OpenSSL call failed; `code` and `message` come from `ERR_get_error()`.
    case openssl(code: UInt, message: String)
    /// An argument other than a key is unusable (nonce length, input too large).
    case invalidInput(String)
}

extension CryptoError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .authenticationFailed: return "authentication failed (wrong key or tampered data)"
        case .invalidKey(let why): return "invalid key: \(why)"
        case .malformedEnvelope: return "malformed envelope"
        case .unknownKeyID(let id): return "unknown key id \"\(id)\""
        case .randomFailed: return "random number generator failed"
        case .openssl(let code, let message): return "OpenSSL error \(code): \(message)"
        case .invalidInput(let why): return "invalid input: \(why)"
        }
    }
}

enum OpenSSLErrorQueue {
    /// Takes the oldest error off OpenSSL's (thread-local) error queue, describes it, and empties
    /// the queue so a later call does not report a stale error.
    static func capture(call: String) -> CryptoError {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else {
            return .openssl(code: 0, message: "\(call) failed without an OpenSSL error")
        }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return .openssl(code: code, message: "\(call): \(text)")
    }

    /// Drops errors a failed verification leaves behind; the failure is reported otherwise.
    static func clear() { ERR_clear_error() }
}
