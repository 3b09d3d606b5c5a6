import ECDCrypto
import Testing

@Suite("HMAC-SHA-256 and SHA-256 known answers")
struct DigestTests {
    struct HMACVector: Sendable, CustomTestStringConvertible {
        let name: String
        let key: [UInt8]
        let message: [UInt8]
        let mac: String
        var testDescription: String { name }
    }

    /// RFC 4231 §4.2–4.8, HMAC-SHA-256 rows (test case 5 compares the full output; the RFC prints
    /// its first 128 bits, checked separately below).
    static let rfc4231: [HMACVector] = [
        HMACVector(name: "RFC 4231 case 1", key: [UInt8](repeating: 0x0b, count: 20), message: utf8("Hi There"),
                   mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        HMACVector(name: "RFC 4231 case 2", key: utf8("Jefe"), message: utf8("what do ya want for nothing?"),
                   mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        HMACVector(name: "RFC 4231 case 3", key: [UInt8](repeating: 0xaa, count: 20),
                   message: [UInt8](repeating: 0xdd, count: 50),
                   mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        HMACVector(name: "RFC 4231 case 4", key: Array(1...25), message: [UInt8](repeating: 0xcd, count: 50),
                   mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        HMACVector(name: "RFC 4231 case 6", key: [UInt8](repeating: 0xaa, count: 131),
                   message: utf8("Test Using Larger Than Block-Size Key - Hash Key First"),
                   mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        HMACVector(name: "RFC 4231 case 7", key: [UInt8](repeating: 0xaa, count: 131),
                   message: utf8("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
                   mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        HMACVector(name: "empty key and message", key: [], message: [],
                   mac: "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"),
    ]

    @Test(arguments: rfc4231)
    func hmacKnownAnswers(_ vector: HMACVector) {
        #expect(hexString(HMACSHA256.mac(key: vector.key, message: vector.message)) == vector.mac)
    }

    @Test func rfc4231Case5Truncated() {
        let mac = HMACSHA256.mac(key: [UInt8](repeating: 0x0c, count: 20), message: utf8("Test With Truncation"))
        #expect(hexString(Array(mac.prefix(16))) == "a3b6167473100ee06e0c796c2955552b")
    }

    /// Cronofy's `Cronofy-HMAC-SHA256` header: base64(HMAC-SHA-256(client secret, raw body)).
    @Test(arguments: [
        ("pDY0Oi7TJSP2hfNmZNkm5", "6r2/HjBkqymGegX0wOfifieeUXbbHwtV/LohHS+jv6c="),
        ("CRN_NggYusqPGLxwjw5FHOJYOqSrTPNXy8WQf14OID", "5DxentQi5YSXODEzTVv06sRwJ3pULIz1KrYv20qxEK0="),
    ])
    func cronofyCallbackSignature(secret: String, expected: String) {
        let body = utf8(#"{"example":"well-known"}"#)
        #expect(Base64.encode(HMACSHA256.mac(key: utf8(secret), message: body)) == expected)
    }

    @Test func macDependsOnEveryInputByte() {
        let key = utf8("secret")
        let base = HMACSHA256.mac(key: key, message: utf8("body"))
        #expect(HMACSHA256.mac(key: key, message: utf8("bodY")) != base)
        #expect(HMACSHA256.mac(key: utf8("secreT"), message: utf8("body")) != base)
        #expect(base.count == 32)
    }

    /// FIPS 180-2 examples and the empty string.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256KnownAnswers(message: String, digest: String) {
        #expect(hexString(SHA256Digest.hash(utf8(message))) == digest)
    }

    @Test func sha256OfMillionA() {
        let digest = SHA256Digest.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
        #expect(hexString(digest) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
