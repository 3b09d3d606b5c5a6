import ECDText
import Foundation
import Testing

/// The string edits that replaced Foundation's in the daemon's modules (issue 14): each checked
/// against what Foundation itself answers, so the sweep changed no behaviour.
@Suite("Text edits")
struct TextEditsTests {
    static let samples = ["", " ", "  a b  ", "\t x \t", "\n x \r\n", "\u{00A0}x\u{2003}", "x\u{2028}", "\u{85}a\u{85}",
                          "ab", "é ", " 日本 ", "\u{301}a"]

    @Test func trimmingMatchesFoundation() {
        for sample in Self.samples {
            #expect(sample.trimmingSpaces() == sample.trimmingCharacters(in: .whitespaces), "\(sample.debugDescription)")
            #expect(sample.trimmingWhitespace() == sample.trimmingCharacters(in: .whitespacesAndNewlines), "\(sample.debugDescription)")
        }
        #expect("--a-b--".trimming(while: { $0 == "-" }) == "a-b")
    }

    @Test func replacingAllIsBytewise() {
        #expect("a\"b\"\"c".replacingAll("\"", with: "\"\"") == "a\"\"b\"\"\"\"c")
        #expect("aaa".replacingAll("aa", with: "b") == "ba")
        #expect("secret in secret".replacingAll("secret", with: "***") == "*** in ***")
        #expect("abc".replacingAll("", with: "x") == "abc")
        #expect("ab".replacingAll("abc", with: "x") == "ab")
        #expect("日本語".replacingAll("本", with: "-") == "日-語")
        // A quote followed by a combining mark is still a quote byte: doubled.
        #expect("\"\u{301}".replacingAll("\"", with: "\"\"") == "\"\"\u{301}")
    }

    /// What NSString.deletingLastPathComponent answered (swift-corelibs-foundation traps on a
    /// path without a slash, so the table is written out).
    @Test func parentPathAsNSStringGaveIt() {
        let expected = ["/a/b": "/a", "/a": "/", "a": "", "/": "/", "a/b/": "a", "/a/b//": "/a", "//a": "/",
                        "a//b": "a", "": "", "/var/lib/ecd/ecd.sqlite": "/var/lib/ecd", "./x": "."]
        for (path, parent) in expected {
            #expect(FilePath.parent(of: path) == parent, "\(path)")
        }
        for path in ["/a/b", "/a", "/", "a/b/", "/var/lib/ecd/ecd.sqlite", "./x"] {
            #expect(FilePath.parent(of: path) == (path as NSString).deletingLastPathComponent, "\(path)")
        }
    }

    @Test func percentCodingMatchesFoundation() {
        for value in ["abc", "p@ss:w/rd?", "ä €", "100%", ""] {
            #expect(value.percentEncodingAllButASCIIAlphanumerics()
                    == value.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "a"..."z").union(CharacterSet(charactersIn: "A"..."Z")).union(CharacterSet(charactersIn: "0"..."9"))))
        }
        for spelled in ["p%40ss", "%E2%82%AC", "plain", "%", "%4", "%zz", "%FF", "a%2fb"] {
            #expect(spelled.percentDecoded() == spelled.removingPercentEncoding, "\(spelled)")
        }
    }

    @Test func fixedDecimalsMatchPrintf() {
        for value in [0.0, 1.5, 2.25, 12.04, -3.14159, 1e6 + 0.25, 0.96, 59.99] {
            #expect(value.fixed(decimals: 1) == String(format: "%.1f", value), "\(value)")
            #expect(value.fixed(decimals: 2) == String(format: "%.2f", value), "\(value)")
        }
        #expect(3.7.fixed(decimals: 0) == "4")
    }
}
