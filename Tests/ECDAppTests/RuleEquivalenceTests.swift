import ECDCore
import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp

/// The API and the core judge a field by the same rule: each input goes through the real route
/// (over a socket) and straight to the core, and both must refuse it, or both let it pass.
@Suite("API and core agree on every field rule")
struct RuleEquivalenceTests {
    static let emails = [
        "a@example.com", "a/b@example.com", "  padded@example.com ", "a b@example.com", "<a@example.com>",
        "ü@bücher.de", "o'neil@example.org", "a\"b@example.com", "a\\b@example.com", "a@exa_mple.com", "a@b",
        "a..b@example.com", ".a@example.com", "a@-example.com", "a@example.com\n", "tab\t@example.com",
        String(repeating: "x", count: 65) + "@example.com", "a@" + String(repeating: "b", count: 250) + ".com",
    ]
    static let scopes = [
        "read_events", "read_events\tread_account", "read\"events", "read\\events", "", "   ", "read\u{0}events",
        "read_events\u{7F}", "  read_events  read_events ", "réad_events",
    ]
    static let labels = [String(repeating: "l", count: 200), String(repeating: "l", count: 201), "", "ü" + String(repeating: "l", count: 199)]

    @Test func emailsScopesAndLabels() async throws {
        try await TestDaemon.run { daemon in
            _ = try await daemon.connectServiceAccount()
            let core = daemon.application.core
            var disagreements: [String] = []

            for email in Self.emails {
                let api = try await daemon.api("POST", "/v1/accounts", json: try Self.json(["email": email]))
                let apiRefuses = api.status == 422 && api.errorField == "email"
                let coreRefuses = await Self.coreRefuses(field: "accounts[0].email") {
                    _ = try await core.requestAccounts([AccountRequestEntry(email: email, scope: nil)])
                }
                if apiRefuses != coreRefuses { disagreements.append("email \(email.debugDescription): API \(apiRefuses), core \(coreRefuses)") }
            }
            for scope in Self.scopes {
                let api = try await daemon.api("POST", "/v1/accounts", json: try Self.json(["email": "scoped@example.com", "scope": scope]))
                let apiRefuses = api.status == 422 && api.errorField == "scope"
                let coreRefuses = await Self.coreRefuses(field: "accounts[0].scope") {
                    _ = try await core.requestAccounts([AccountRequestEntry(email: "scoped@example.com", scope: scope)])
                }
                if apiRefuses != coreRefuses { disagreements.append("account scope \(scope.debugDescription): API \(apiRefuses), core \(coreRefuses)") }

                for field in ["scope", "delegated_scope"] {
                    let link = try await daemon.api("POST", "/v1/service-accounts/connect-links", json: try Self.json([field: scope]))
                    let linkRefused = link.status == 422 && link.errorField == field
                    let coreLinkRefuses = await Self.coreRefuses(field: field) {
                        _ = field == "scope" ? try await core.createConnectLink(label: nil, scope: scope, delegatedScope: nil)
                            : try await core.createConnectLink(label: nil, scope: nil, delegatedScope: scope)
                    }
                    if linkRefused != coreLinkRefuses {
                        disagreements.append("link \(field) \(scope.debugDescription): API \(linkRefused), core \(coreLinkRefuses)")
                    }
                }
            }
            for label in Self.labels {
                let link = try await daemon.api("POST", "/v1/service-accounts/connect-links", json: try Self.json(["label": label]))
                let apiRefuses = link.status == 422 && link.errorField == "label"
                let coreRefuses = await Self.coreRefuses(field: "label") {
                    _ = try await core.createConnectLink(label: label, scope: nil, delegatedScope: nil)
                }
                if apiRefuses != coreRefuses { disagreements.append("label of \(label.count): API \(apiRefuses), core \(coreRefuses)") }
            }
            #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n"))")
            // The table spans both verdicts for every rule, so agreement is not "everything passes".
            #expect(Email.isValid("a/b@example.com") && !Email.isValid("a b@example.com"))
            #expect(Scope.isValid("read_events\tread_account") && !Scope.isValid("read\"events") && !Scope.isValid("read\\events"))
        }
    }

    /// Whether `body` fails with a core error naming `field`.
    private static func coreRefuses(field: String, _ body: () async throws -> Void) async -> Bool {
        do {
            try await body()
            return false
        } catch CoreError.invalidEntries(let problems) {
            return problems.contains { $0.field == field }
        } catch CoreError.invalid(let named, _) {
            return named == field
        } catch {
            return false
        }
    }

    private static func json(_ object: [String: String]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }
}
