import ECDCrypto
import Testing

@Suite("Base64, random bytes, constant-time comparison")
struct EncodingTests {
    /// RFC 4648 §10.
    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ])
    func standardVectors(plain: String, encoded: String) {
        #expect(Base64.encode(utf8(plain)) == encoded)
        #expect(Base64.decode(encoded) == utf8(plain))
    }

    @Test func urlSafeAlphabetWithoutPadding() {
        let bytes: [UInt8] = [0xfb, 0xff, 0xbf]
        #expect(Base64.encode(bytes) == "+/+/")
        #expect(Base64.encodeURL(bytes) == "-_-_")
        #expect(Base64.encodeURL(utf8("f")) == "Zg")
        #expect(Base64.encodeURL(utf8("fo")) == "Zm8")
        #expect(Base64.decodeURL("-_-_") == bytes)
        #expect(Base64.decodeURL("Zg") == utf8("f"))
        #expect(Base64.decodeURL("Zm8") == utf8("fo"))
    }

    @Test(arguments: ["Zg", "Zg=", "Z===", "Zm9v\n", "Zm 9", "Zh==", "-_-_", "Zm9v=", "===="])
    func standardDecodingRejects(_ text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test(arguments: ["Zg==", "+/+/", "Z", "Zh", "a b"])
    func urlDecodingRejects(_ text: String) {
        #expect(Base64.decodeURL(text) == nil)
    }

    @Test func roundTripsEveryLength() throws {
        for count in 0..<70 {
            let bytes = try SecureRandom.bytes(count)
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
            #expect(Base64.decodeURL(Base64.encodeURL(bytes)) == bytes)
        }
    }

    @Test func randomBytesAreFreshAndSized() throws {
        #expect(try SecureRandom.bytes(0) == [])
        let a = try SecureRandom.bytes(32)
        let b = try SecureRandom.bytes(32)
        #expect(a.count == 32)
        #expect(a != b)
        let token = try SecureRandom.token()
        #expect(token.count == 43)   // 32 bytes → 43 base64url characters, no padding
        #expect(token.utf8.allSatisfy { $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "/") })
        #expect(Base64.decodeURL(token)?.count == 32)
        #expect(try SecureRandom.token(byteCount: 16).count == 22)
    }

    @Test func constantTimeEquals() {
        #expect(ConstantTime.equals([], []))
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(!ConstantTime.equals([], [0]))
    }
}
