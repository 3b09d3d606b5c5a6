import ECDHTTP
import Testing

/// `PercentDecoding.decode` on its own: what it decodes, and every input it refuses (nil).
@Suite("Percent-decoding")
struct PercentDecodingTests {
    @Test("escapes decode to their bytes, read as UTF-8; text without escapes comes back as it is")
    func decodes() {
        #expect(PercentDecoding.decode("user00001%40example.com") == "user00001@example.com")
        #expect(PercentDecoding.decode("%C3%A9t%C3%A9") == "été")
        #expect(PercentDecoding.decode("a%2Fb%2f") == "a/b/")
        #expect(PercentDecoding.decode("plain") == "plain")
        #expect(PercentDecoding.decode("") == "")
        #expect(PercentDecoding.decode("%41") == "A")
        // Longer than any stack scratch space: the same answer.
        let long = String(repeating: "ab%40", count: 2000)
        #expect(PercentDecoding.decode(long) == String(repeating: "ab@", count: 2000))
        #expect(PercentDecoding.decode("x%40y"[...]) == "x@y")
    }

    @Test("a plus is a space only in form encoding")
    func plus() {
        #expect(PercentDecoding.decode("a+b%2B", plusAsSpace: true) == "a b+")
        #expect(PercentDecoding.decode("a+b", plusAsSpace: true) == "a b")
        #expect(PercentDecoding.decode("a+b%2B") == "a+b+")
        #expect(PercentDecoding.decode("a+b") == "a+b")
    }

    @Test("a malformed or cut escape, or bytes that are not UTF-8, decode to nil")
    func refuses() {
        for input in ["%", "a%", "a%4", "%4g", "%zz", "%%41", "%FF", "%C3", "%C3%28", "ok%E9", "%ED%A0%80"] {
            #expect(PercentDecoding.decode(input) == nil, "\(input)")
        }
        #expect(PercentDecoding.decode("a%4", plusAsSpace: true) == nil)
    }
}
