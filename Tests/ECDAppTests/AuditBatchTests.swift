import Foundation
import ECDTestSupport
import Testing
@testable import ECDApp

/// Token reads answered on the same loop turn share one audit write (`AuditTurnBatch`): the rule
/// of the README's audit table holds for every read of a batch.
@Suite("The audit lines of a loop turn's reads")
struct AuditBatchTests {
    /// `count` keep-alive connections that each send a token read at once; their answers.
    static func readAtOnce(_ daemon: TestDaemon, _ clients: [RawClient], email: String) async throws -> [RawResponse] {
        for (i, client) in clients.enumerated() {
            client.send("GET /v1/accounts/\(email)/token HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(TestDaemon.apiKey)\r\n"
                        + "X-Request-Id: batch-\(i)-\(UUID().uuidString.prefix(8))\r\n\r\n")
        }
        var responses: [RawResponse] = []
        for client in clients { responses.append(try await client.readResponse()) }
        return responses
    }

    @Test("reads at once on a full disk: every one is 503 audit_unavailable, no token leaves; then every one is on record")
    func batchFailureFailsEveryRead() async throws {
        try await TestDaemon.run { daemon in
            try await daemon.connectServiceAccount()
            try await daemon.requestAndSettle(["carol@example.com"])
            let first = try await daemon.api("GET", "/v1/accounts/carol@example.com/token")
            let token = try #require(first.json["access_token"] as? String)
            let audit = try #require(daemon.application.audit)
            let lines = audit.lastID
            let clients = try (0..<16).map { _ in try RawClient(daemon.internalEndpoint) }

            try ScopeAuditTests.redirect(audit, to: "/dev/full")
            for response in try await Self.readAtOnce(daemon, clients, email: "carol@example.com") {
                #expect(response.status == 503 && response.errorCode == "audit_unavailable", "\(response.status) \(response.text)")
                #expect(response.header("Retry-After") != nil)
                #expect(!response.text.contains(token))
            }
            #expect(audit.lastID == lines)
            #expect(!(await daemon.logs.waitFor { $0.message.contains("the answers were withheld") }).isEmpty)

            // Room again: the same connections are answered, and each answer's line was written
            // before it left (it is in the file when the answer is read), once, numbered in order.
            try ScopeAuditTests.redirect(audit, to: audit.path)
            for client in clients {
                client.send("GET /v1/accounts/carol@example.com/token HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(TestDaemon.apiKey)\r\n\r\n")
            }
            for client in clients {
                let response = try await client.readResponse()
                #expect(response.status == 200)
                let id = try #require(response.header("X-Request-Id"))
                let text = try String(contentsOfFile: audit.path, encoding: .utf8)
                let mine = text.split(separator: "\n").filter { $0.contains("\"request_id\":\"\(id)\"") }
                #expect(mine.count == 1 && mine.first?.contains(#""action":"account.token.read""#) == true,
                        "the line of \(id) is not on record when its answer arrives")
            }
            #expect(audit.lastID == lines + 16)
            let page = try await daemon.api("GET", "/v1/audit?after=0&limit=1000")
            let ids = ((page.json["entries"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? Int }
            #expect(ids == Array(1...ids.count))
        }
    }
}
