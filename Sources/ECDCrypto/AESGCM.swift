import ECDCOpenSSL

/// AES-256-GCM (NIST SP 800-38D) through OpenSSL's `EVP_*` interface, with 96-bit nonces and
/// 128-bit tags.
public enum AESGCM {
    public static let keyByteCount = 32
    public static let nonceByteCount = 12
    public static let tagByteCount = 16

    public struct Sealed: Sendable, Equatable {
        public var nonce: [UInt8]
        public var ciphertext: [UInt8]
        public var tag: [UInt8]
        public init(nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8]) {
            self.nonce = nonce
            self.ciphertext = ciphertext
            self.tag = tag
        }
    }

    /// Encrypts `plaintext` and authenticates it together with `associatedData`.
    /// Without `nonce`, a fresh random 96-bit nonce is drawn; pass one only for known-answer tests
    /// (reusing a nonce under one key breaks GCM).
    public static func seal(
        _ plaintext: [UInt8], key: [UInt8], nonce: [UInt8]? = nil, associatedData: [UInt8] = []
    ) throws -> Sealed {
        try checkKey(key)
        let nonce = try nonce ?? SecureRandom.bytes(nonceByteCount)
        guard nonce.count == nonceByteCount else {
            throw CryptoError.invalidInput("nonce must be \(nonceByteCount) bytes")
        }
        try checkLength(plaintext)
        try checkLength(associatedData)

        let context = try CipherContext()
        try context.initialize(encrypt: true, key: key, nonce: nonce)
        try context.authenticate(associatedData)
        var ciphertext = try context.update(plaintext)
        var final = [UInt8](repeating: 0, count: 16)
        var finalLength: Int32 = 0
        guard EVP_EncryptFinal_ex(context.pointer, &final, &finalLength) == 1 else {
            throw OpenSSLErrorQueue.capture(call: "EVP_EncryptFinal_ex")
        }
        ciphertext += final.prefix(Int(finalLength))   // 0 for GCM, kept for correctness
        var tag = [UInt8](repeating: 0, count: tagByteCount)
        guard EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_GET_TAG, Int32(tagByteCount), &tag) == 1 else {
            throw OpenSSLErrorQueue.capture(call: "EVP_CTRL_GCM_GET_TAG")
        }
        return Sealed(nonce: nonce, ciphertext: ciphertext, tag: tag)
    }

    /// Decrypts and verifies. Any mismatch — key, nonce, ciphertext, tag or associated data —
    /// throws `authenticationFailed`; no unverified plaintext is ever returned.
    public static func open(_ sealed: Sealed, key: [UInt8], associatedData: [UInt8] = []) throws -> [UInt8] {
        try checkKey(key)
        guard sealed.nonce.count == nonceByteCount else {
            throw CryptoError.invalidInput("nonce must be \(nonceByteCount) bytes")
        }
        // A shorter tag would be accepted by OpenSSL and weaken the check: refuse it as a forgery.
        guard sealed.tag.count == tagByteCount else { throw CryptoError.authenticationFailed }
        try checkLength(sealed.ciphertext)
        try checkLength(associatedData)

        let context = try CipherContext()
        try context.initialize(encrypt: false, key: key, nonce: sealed.nonce)
        try context.authenticate(associatedData)
        var plaintext = try context.update(sealed.ciphertext)
        var tag = sealed.tag
        guard EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_SET_TAG, Int32(tagByteCount), &tag) == 1 else {
            throw OpenSSLErrorQueue.capture(call: "EVP_CTRL_GCM_SET_TAG")
        }
        var final = [UInt8](repeating: 0, count: 16)
        var finalLength: Int32 = 0
        guard EVP_DecryptFinal_ex(context.pointer, &final, &finalLength) == 1 else {
            // Tag mismatch leaves nothing useful on the error queue; drop it and wipe the output.
            OpenSSLErrorQueue.clear()
            plaintext.withUnsafeMutableBytes { ecd_openssl_cleanse($0.baseAddress, $0.count) }
            throw CryptoError.authenticationFailed
        }
        plaintext += final.prefix(Int(finalLength))
        return plaintext
    }

    private static func checkKey(_ key: [UInt8]) throws {
        guard key.count == keyByteCount else {
            throw CryptoError.invalidKey("AES-256-GCM key must be \(keyByteCount) bytes, got \(key.count)")
        }
    }

    private static func checkLength(_ bytes: [UInt8]) throws {
        // EVP_*Update takes an int length; stay well inside it.
        guard bytes.count < Int(Int32.max) - 32 else { throw CryptoError.invalidInput("input too large") }
    }
}

/// Owns one `EVP_CIPHER_CTX`, freed (and wiped by OpenSSL) in `deinit`.
private final class CipherContext {
    let pointer: OpaquePointer
    private var encrypting = true

    init() throws {
        guard let pointer = EVP_CIPHER_CTX_new() else {
            throw OpenSSLErrorQueue.capture(call: "EVP_CIPHER_CTX_new")
        }
        self.pointer = pointer
    }

    deinit { EVP_CIPHER_CTX_free(pointer) }

    func initialize(encrypt: Bool, key: [UInt8], nonce: [UInt8]) throws {
        encrypting = encrypt
        let initFunction = encrypt ? EVP_EncryptInit_ex : EVP_DecryptInit_ex
        guard initFunction(pointer, EVP_aes_256_gcm(), nil, nil, nil) == 1 else {
            throw OpenSSLErrorQueue.capture(call: "EVP_CipherInit_ex")
        }
        guard EVP_CIPHER_CTX_ctrl(pointer, EVP_CTRL_GCM_SET_IVLEN, Int32(nonce.count), nil) == 1 else {
            throw OpenSSLErrorQueue.capture(call: "EVP_CTRL_GCM_SET_IVLEN")
        }
        guard initFunction(pointer, nil, nil, key, nonce) == 1 else {
            throw OpenSSLErrorQueue.capture(call: "EVP_CipherInit_ex")
        }
    }

    /// Feeds associated data (output pointer nil), which GCM authenticates but does not encrypt.
    func authenticate(_ associatedData: [UInt8]) throws {
        guard !associatedData.isEmpty else { return }
        var outLength: Int32 = 0
        let update = encrypting ? EVP_EncryptUpdate : EVP_DecryptUpdate
        guard update(pointer, nil, &outLength, associatedData, Int32(associatedData.count)) == 1 else {
            throw OpenSSLErrorQueue.capture(call: "EVP_CipherUpdate(aad)")
        }
    }

    func update(_ input: [UInt8]) throws -> [UInt8] {
        guard !input.isEmpty else { return [] }
        var output = [UInt8](repeating: 0, count: input.count + 16)
        var outLength: Int32 = 0
        let update = encrypting ? EVP_EncryptUpdate : EVP_DecryptUpdate
        guard update(pointer, &output, &outLength, input, Int32(input.count)) == 1 else {
            throw OpenSSLErrorQueue.capture(call: "EVP_CipherUpdate")
        }
        output.removeLast(output.count - Int(outLength))
        return output
    }
}
