import ECDHTTP
import Foundation

/// Serves `GET /v1/accounts/{email}/token` with a fixed small JSON body (the bytes nginx serves
/// in the comparison) on 127.0.0.1:<port>, until killed.
@main
struct BenchHTTPServer {
    static let body = Array(
        #"{"access_token":"sim_at_0123456789abcdef0123456789abcdef","token_type":"bearer","expires_at":"2026-11-29T12:00:00Z"}"#
            .utf8)

    static func main() async throws {
        let port = Int(CommandLine.arguments.dropFirst().first ?? "8091") ?? 8091
        var router = Router()
        router.get("/v1/accounts/{email}/token") { _, context in
            // Read the parameter as the real handler would (it keys the token cache).
            _ = try context.parameter("email")
            return .json(bytes: body)
        }
        var limits = HTTPLimits()
        limits.maxConnections = 19_000
        limits.keepAliveIdleTimeout = .seconds(600)
        limits.headerReadTimeout = .seconds(600)
        let server = HTTPServer(
            configuration: .init(name: "bench", listen: .tcp(host: "127.0.0.1", port: port), limits: limits),
            responder: router)
        try server.start()
        print("listening on \(server.boundAddress)")
        fflush(nil)
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
