import ECDCore
import ECDCrypto
import Testing

@Suite("Email, scope and callback-signature rules")
struct RulesTests {
    @Test(arguments: ["a@example.com", "First.Last+tag@Sub.Example.co.uk", "o'neil@example.org", "  x@example.com ",
                      "x@sub.domain.example", "ü@bücher.de", "a/b@example.com", "a@b.com\n"])
    func acceptsPlausibleEmails(_ email: String) {
        #expect(Email.isValid(email))
    }

    @Test(arguments: ["", "plain", "a@b", "a@@example.com", "a b@example.com", ".a@example.com", "a..b@example.com",
                      "a@-example.com", "a@example..com", "a@exa_mple.com", "a@example.com@x.com", "@example.com", "a@",
                      "<a@b.com>", "a.@b.com", "a\"b@example.com", "a\\b@example.com",
                      String(repeating: "x", count: 65) + "@b.com", "a@" + String(repeating: "b", count: 250) + ".com"])
    func refusesImplausibleEmails(_ email: String) {
        #expect(!Email.isValid(email))
    }

    @Test func normalisesForComparison() {
        #expect(Email.key(" Jane.Doe@Example.COM ") == "jane.doe@example.com")
        #expect(Email.normalized(" Jane.Doe@Example.COM ") == "Jane.Doe@example.com")
        #expect(Email.domain("a@Example.com") == "example.com")
    }

    @Test func scopeWithinDelegatedScope() {
        let ceiling = "read_account list_calendars read_events create_event delete_event read_free_busy"
        #expect(Scope.excess("read_events  create_event read_events", within: ceiling).isEmpty)
        #expect(Scope.excess("read_events free_busy_write", within: ceiling) == ["free_busy_write"])
        #expect(Scope.normalized(" b  a b ") == "b a")
        // Shorthands count as the words they stand for; free_busy modes only by name.
        #expect(Scope.excess("read_only", within: "read_account list_calendars read_events").isEmpty)
        #expect(Scope.excess("read_events delete_event", within: "read_write").isEmpty)
        #expect(Scope.excess("read_write", within: "read_only") == ["read_write"])
        #expect(Scope.excess("free_busy", within: "read_write") == ["free_busy"])
        #expect(Scope.excess("free_busy", within: "free_busy_write") == ["free_busy"])
        #expect(Scope.excess("read_free_busy", within: "read_events").isEmpty)
        #expect(Scope.excess("read_events", within: "read_free_busy") == ["read_events"])
        #expect(Scope.isEquivalent("read_write", "delete_event read_account list_calendars read_events create_event"))
        #expect(!Scope.isEquivalent("read_write", "read_only"))
        #expect(Scope.isWellFormed("read_events service_account/accounts/manage"))
        #expect(!Scope.isWellFormed("read\"events"))
        #expect(Scope.isValid("read_account list_calendars") && Scope.isValid(" read_events\tread_account\n"))
        for bad in ["", "   ", "read\u{0}account", "read\"events", "read\\events", "réad_events"] {
            #expect(!Scope.isValid(bad), "\(bad.debugDescription)")
        }
    }

    /// The vectors of cronofy-api.md §7 (docs and SDK tests).
    @Test func cronofySignatureVectors() {
        let body = Array(#"{"example":"well-known"}"#.utf8)
        #expect(CallbackSignature.expected(body: body, secret: "pDY0Oi7TJSP2hfNmZNkm5") == "6r2/HjBkqymGegX0wOfifieeUXbbHwtV/LohHS+jv6c=")
        #expect(CallbackSignature.isValid(header: "6r2/HjBkqymGegX0wOfifieeUXbbHwtV/LohHS+jv6c=", body: body, secret: "pDY0Oi7TJSP2hfNmZNkm5"))
        #expect(CallbackSignature.isValid(header: "5DxentQi5YSXODEzTVv06sRwJ3pULIz1KrYv20qxEK0=", body: body,
                                          secret: "CRN_NggYusqPGLxwjw5FHOJYOqSrTPNXy8WQf14OID"))
        let multi = "PNNVJ9J2e8N174koxcKDzktZ9Qkt8YUzP+V+l5lG8F4=, 6r2/HjBkqymGegX0wOfifieeUXbbHwtV/LohHS+jv6c="
        #expect(CallbackSignature.isValid(header: multi, body: body, secret: "pDY0Oi7TJSP2hfNmZNkm5"))
        #expect(!CallbackSignature.isValid(header: "PNNVJ9J2e8N174koxcKDzktZ9Qkt8YUzP+V+l5lG8F4=", body: body, secret: "pDY0Oi7TJSP2hfNmZNkm5"))
        #expect(!CallbackSignature.isValid(header: "", body: body, secret: "pDY0Oi7TJSP2hfNmZNkm5"))
        #expect(!CallbackSignature.isValid(header: "6r2/HjBkqymGegX0wOfifieeUXbbHwtV/LohHS+jv6c=", body: body + [0x20],
                                           secret: "pDY0Oi7TJSP2hfNmZNkm5"))
    }
}
