import ECDHTTP
import Foundation
import Testing
@testable import ECDApp

/// The key check remembers, per connection, the header it checked last: a repeat is not hashed
/// again, but anything else (another header, reloaded keys) is checked afresh.
@Suite struct APIKeyMemoTests {
    static let first = String(repeating: "a", count: 40)
    static let second = String(repeating: "b", count: 40)

    static func head(_ authorization: String?) -> HTTPRequest {
        var headers: HTTPHeaders = ["Host": "x"]
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        return HTTPRequest(method: .get, target: "/v1/events", path: "/v1/events", rawPath: "/v1/events",
                           rawQuery: nil, queryItems: [], version: .http1_1, headers: headers, body: [])
    }

    /// One connection's requests in turn: each context starts from the memo the last one left.
    struct Connection {
        let check: APIKeyAuthentication
        var memo: (any Sendable)?

        mutating func send(_ authorization: String?) -> (status: Int, principal: String?) {
            var context = RequestContext(requestID: "t")
            context.connectionMemo = memo
            let refusal = check.checkHead(APIKeyMemoTests.head(authorization), context: &context)
            memo = context.connectionMemo
            return (refusal?.status.code ?? 200, context.principal)
        }
    }

    @Test func aRememberedHeaderIsOnlyReusedForTheSameBytesAndTheSameKeys() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("memo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("keys").path
        try "\(Self.first)\n\(Self.second)\n".write(toFile: file, atomically: true, encoding: .utf8)
        let store = APIKeyStore(keys: [Self.first, Self.second], file: file)
        var connection = Connection(check: APIKeyAuthentication(keys: store))

        #expect(connection.send("Bearer \(Self.second)") == (200, "#2"))
        #expect(connection.send("Bearer \(Self.second)") == (200, "#2"))
        // Another header on the same connection: a wrong key, one byte off, none, then a good one.
        #expect(connection.send("Bearer \(Self.second.dropLast())c").status == 401)
        #expect(connection.send(nil).status == 401)
        #expect(connection.send("Bearer \(Self.first)") == (200, "#1"))
        // The second key is rotated out: the header checked a moment ago is not believed any more.
        #expect(connection.send("Bearer \(Self.second)") == (200, "#2"))
        try "\(Self.first)\n".write(toFile: file, atomically: true, encoding: .utf8)
        try store.reload()
        #expect(connection.send("Bearer \(Self.second)").status == 401)
        #expect(connection.send("Bearer \(Self.first)") == (200, "#1"))
    }

    /// The route's guard takes the key (its role) from the connection's memo, but only under the
    /// keys' generation the memo was made in: a key whose role a reload changed is checked anew.
    @Test func theGuardTrustsTheMemosKeyOnlyUntilAReload() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("memo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("keys.json").path
        func keys(role: String) -> String { #"[{"name": "crm", "key": "\#(Self.first)", "role": "\#(role)"}]"# }
        try keys(role: "admin").write(toFile: file, atomically: true, encoding: .utf8)
        let store = APIKeyStore(apiKeys: [], file: file)
        try store.reload()
        let guardian = RouteGuard(keys: store, audit: nil, openProbes: false, serviceAccountOf: { _ in nil },
                                  render: { error, _, _ in (error as? HTTPError)?.response ?? HTTPError(.internalServerError, code: "internal_error", message: "-").response })
        let handler = guardian.wrap(.get, "/v1/events") { _, _ in .response(.text(.ok, "events")) }
        var context = RequestContext(requestID: "t")
        #expect(APIKeyAuthentication(keys: store).checkHead(Self.head("Bearer \(Self.first)"), context: &context) == nil)
        #expect(context.principal == "crm")
        func status() -> Int {
            do {
                guard case .response(let response) = try handler(Self.head("Bearer \(Self.first)"), context) else { return 0 }
                return response.status.code
            } catch {
                return (error as? APIError)?.response.status.code ?? 0
            }
        }
        #expect(status() == 200)
        // The same key, now a metrics key: the memo the head hook made before is stale.
        try keys(role: "metrics").write(toFile: file, atomically: true, encoding: .utf8)
        try store.reload()
        #expect(status() == 403)
    }
}
