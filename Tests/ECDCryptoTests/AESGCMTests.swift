import ECDCrypto
import Testing

@Suite("AES-256-GCM")
struct AESGCMTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String, key: String, nonce: String, plaintext: String, aad: String, ciphertext: String, tag: String
        var testDescription: String { name }
    }

    /// The GCM specification's AES-256 test cases 13–16 (McGrew & Viega; NIST SP 800-38D).
    static let vectors: [Vector] = [
        Vector(name: "GCM spec case 13", key: String(repeating: "00", count: 32), nonce: String(repeating: "00", count: 12),
               plaintext: "", aad: "", ciphertext: "", tag: "530f8afbc74536b9a963b4f1c4cb738b"),
        Vector(name: "GCM spec case 14", key: String(repeating: "00", count: 32), nonce: String(repeating: "00", count: 12),
               plaintext: String(repeating: "00", count: 16), aad: "",
               ciphertext: "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919"),
        Vector(name: "GCM spec case 15",
               key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", nonce: "cafebabefacedbaddecaf888",
               plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
               aad: "",
               ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
               tag: "b094dac5d93471bdec1a502270e3cc6c"),
        Vector(name: "GCM spec case 16 (AAD, partial block)",
               key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", nonce: "cafebabefacedbaddecaf888",
               plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
               aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
               ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
               tag: "76fc6ece0f4e1768cddf8853bb2d551b"),
    ]

    @Test(arguments: vectors)
    func sealsToKnownAnswer(_ v: Vector) throws {
        let sealed = try AESGCM.seal(hex(v.plaintext), key: hex(v.key), nonce: hex(v.nonce), associatedData: hex(v.aad))
        #expect(hexString(sealed.ciphertext) == v.ciphertext)
        #expect(hexString(sealed.tag) == v.tag)
        #expect(try AESGCM.open(sealed, key: hex(v.key), associatedData: hex(v.aad)) == hex(v.plaintext))
    }

    @Test(arguments: vectors)
    func tamperingFailsAuthentication(_ v: Vector) throws {
        let key = hex(v.key), aad = hex(v.aad)
        let sealed = AESGCM.Sealed(nonce: hex(v.nonce), ciphertext: hex(v.ciphertext), tag: hex(v.tag))

        var badTag = sealed
        badTag.tag[0] ^= 0x01
        #expect(throws: CryptoError.authenticationFailed) { try AESGCM.open(badTag, key: key, associatedData: aad) }

        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.open(sealed, key: key, associatedData: aad + [0x00])
        }

        var wrongKey = key
        wrongKey[31] ^= 0x80
        #expect(throws: CryptoError.authenticationFailed) { try AESGCM.open(sealed, key: wrongKey, associatedData: aad) }

        var badNonce = sealed
        badNonce.nonce[11] ^= 0x01
        #expect(throws: CryptoError.authenticationFailed) { try AESGCM.open(badNonce, key: key, associatedData: aad) }

        if !sealed.ciphertext.isEmpty {
            var badCiphertext = sealed
            badCiphertext.ciphertext[badCiphertext.ciphertext.count - 1] ^= 0x01
            #expect(throws: CryptoError.authenticationFailed) {
                try AESGCM.open(badCiphertext, key: key, associatedData: aad)
            }
        }

        var truncatedTag = sealed
        truncatedTag.tag.removeLast(4)
        #expect(throws: CryptoError.authenticationFailed) { try AESGCM.open(truncatedTag, key: key, associatedData: aad) }
    }

    @Test func randomNoncesDiffer() throws {
        let key = try SecureRandom.bytes(32)
        let a = try AESGCM.seal(utf8("same"), key: key)
        let b = try AESGCM.seal(utf8("same"), key: key)
        #expect(a.nonce.count == 12)
        #expect(a.nonce != b.nonce)
        #expect(a.ciphertext != b.ciphertext)
        #expect(try AESGCM.open(b, key: key) == utf8("same"))
    }

    @Test func rejectsBadKeysAndNonces() throws {
        #expect(throws: CryptoError.self) { try AESGCM.seal([1], key: [UInt8](repeating: 0, count: 16)) }
        #expect(throws: CryptoError.self) { try AESGCM.seal([1], key: [UInt8](repeating: 0, count: 32), nonce: [0, 1]) }
        do {
            _ = try AESGCM.seal([1], key: [UInt8](repeating: 7, count: 31))
            Issue.record("a 31-byte key was accepted")
        } catch let CryptoError.invalidKey(message) {
            #expect(message.contains("32 bytes"))
            #expect(!message.contains("7, 7"))
        }
    }

    @Test func largePayloadRoundTrips() throws {
        let key = try SecureRandom.bytes(32)
        let plaintext = try SecureRandom.bytes(1 << 20)
        let sealed = try AESGCM.seal(plaintext, key: key, associatedData: utf8("big"))
        #expect(sealed.ciphertext.count == plaintext.count)
        #expect(try AESGCM.open(sealed, key: key, associatedData: utf8("big")) == plaintext)
    }
}
