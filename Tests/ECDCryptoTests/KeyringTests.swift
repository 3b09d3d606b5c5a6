import ECDCrypto
import Testing

@Suite("Keyring envelopes")
struct KeyringTests {
    let old = Keyring.Key(id: "k2024", bytes: [UInt8](repeating: 0x11, count: 32))
    let new = Keyring.Key(id: "k2025", bytes: [UInt8](repeating: 0x22, count: 32))

    @Test func sealsWithFirstKeyAndOpensWithAny() throws {
        let before = try Keyring(keys: [old])
        let envelope = try before.seal(utf8("refresh-token"), associatedData: utf8("accounts/1/refresh_token"))
        #expect(Keyring.keyID(ofEnvelope: envelope) == "k2024")

        let rotated = try Keyring(keys: [new, old])
        #expect(rotated.primaryKeyID == "k2025")
        #expect(rotated.keyIDs == ["k2025", "k2024"])
        #expect(try rotated.open(envelope, associatedData: utf8("accounts/1/refresh_token")) == utf8("refresh-token"))
        let resealed = try rotated.seal(utf8("refresh-token"), associatedData: utf8("accounts/1/refresh_token"))
        #expect(Keyring.keyID(ofEnvelope: resealed) == "k2025")
        #expect(throws: CryptoError.unknownKeyID("k2025")) {
            try before.open(resealed, associatedData: utf8("accounts/1/refresh_token"))
        }
    }

    @Test func envelopeLayout() throws {
        let ring = try Keyring(keys: [old])
        let plaintext = utf8("abc")
        let envelope = try ring.seal(plaintext, associatedData: [])
        // version + id length + "k2024" + nonce + ciphertext + tag
        #expect(envelope.count == 1 + 1 + 5 + 12 + plaintext.count + 16)
        #expect(envelope[0] == 1)
        #expect(envelope[1] == 5)
        #expect(Array(envelope[2..<7]) == utf8("k2024"))
    }

    @Test func envelopeMovedToAnotherRowFails() throws {
        let ring = try Keyring(keys: [old])
        let envelope = try ring.seal(utf8("secret"), associatedData: utf8("accounts/1/access_token"))
        #expect(throws: CryptoError.authenticationFailed) {
            try ring.open(envelope, associatedData: utf8("accounts/2/access_token"))
        }
        #expect(throws: CryptoError.authenticationFailed) { try ring.open(envelope, associatedData: []) }
    }

    @Test func headerIsAuthenticated() throws {
        // Same key bytes under two ids: relabelling the envelope must still fail.
        let twin = Keyring.Key(id: "k2099", bytes: old.bytes)
        let ring = try Keyring(keys: [old, twin])
        var envelope = try ring.seal(utf8("secret"), associatedData: [])
        envelope.replaceSubrange(2..<7, with: utf8("k2099"))
        #expect(Keyring.keyID(ofEnvelope: envelope) == "k2099")
        #expect(throws: CryptoError.authenticationFailed) { try ring.open(envelope, associatedData: []) }
    }

    @Test func malformedEnvelopes() throws {
        let ring = try Keyring(keys: [old])
        let good = try ring.seal(utf8("x"), associatedData: [])
        var wrongVersion = good
        wrongVersion[0] = 2
        let candidates: [[UInt8]] = [[], [1], Array(good.prefix(2 + 5 + 12 + 15)), wrongVersion, [1, 0] + good.suffix(28)]
        for bad in candidates {
            #expect(throws: CryptoError.malformedEnvelope) { try ring.open(bad, associatedData: []) }
            #expect(Keyring.keyID(ofEnvelope: bad) == nil)
        }
        var flipped = good
        flipped[flipped.count - 1] ^= 1
        #expect(throws: CryptoError.authenticationFailed) { try ring.open(flipped, associatedData: []) }
    }

    @Test func invalidRings() {
        #expect(throws: CryptoError.self) { try Keyring(keys: []) }
        #expect(throws: CryptoError.self) { try Keyring(keys: [old, Keyring.Key(id: "k2024", bytes: new.bytes)]) }
        #expect(throws: CryptoError.self) { try Keyring(keys: [Keyring.Key(id: "short", bytes: [1, 2, 3])]) }
        #expect(throws: CryptoError.self) { try Keyring(keys: [Keyring.Key(id: "", bytes: new.bytes)]) }
        #expect(throws: CryptoError.self) { try Keyring(keys: [Keyring.Key(id: "has space", bytes: new.bytes)]) }
    }

    @Test func keysFromBase64() throws {
        let text = Base64.encode(new.bytes)
        #expect(try Keyring.Key(id: "a", base64: text).bytes == new.bytes)
        #expect(try Keyring.Key(id: "a", base64: Base64.encodeURL(new.bytes)).bytes == new.bytes)
        #expect(throws: CryptoError.self) { try Keyring.Key(id: "a", base64: "not base64!") }
    }

    @Test func descriptionsNeverShowKeyBytes() throws {
        let ring = try Keyring(keys: [new])
        let texts = [String(describing: new), String(reflecting: new), String(describing: ring), String(reflecting: ring),
                     "\(Mirror(reflecting: new).children.map { "\($0.label ?? ""):\($0.value)" })"]
        for text in texts {
            #expect(text.contains("k2025"))
            #expect(!text.contains("34"))   // 0x22 as a decimal element
        }
        // A key of the wrong length must be refused, and the refusal must not show its bytes
        // either (no error at all is a failure here, not a silent pass).
        let error = #expect(throws: CryptoError.self) {
            try Keyring(keys: [Keyring.Key(id: "bad", bytes: [UInt8](repeating: 0x22, count: 31))])
        }
        let text = try #require(error.map { "\($0)" })
        #expect(text.contains("bad"))
        #expect(!text.contains("34"))
    }
}
