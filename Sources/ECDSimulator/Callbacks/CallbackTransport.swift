import ECDHTTPClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import FoundationEssentials
#endif

/// How a callback leaves the simulator. A protocol so that the dispatcher's retry logic can be
/// tested without sockets; `HTTPCallbackTransport` is the real one.
protocol CallbackTransport: Sendable {
    /// POSTs `body` and returns the receiver's status, or nil when it could not be reached or
    /// did not answer within `timeout`.
    func post(url: String, body: [UInt8], headers: [(String, String)], timeout: Duration) async -> Int?
}

/// Callbacks over the package's `HTTPClient`. With `--callback-ca-file`, https receivers are
/// trusted through exactly that CA file (a test's TLS server with a private certificate, reached
/// as Cronofy's callbacks reach a deployment, without touching the machine's trust store);
/// otherwise through the system's. A CA file that does not load leaves no trust at all: every
/// https callback then fails (`SimulatorConfiguration(arguments:)` checks it with `canLoad` first).
struct HTTPCallbackTransport: CallbackTransport {
    private let client: HTTPClient

    /// A batch sends up to 50 callbacks to one host at once: keep as many connections for reuse.
    init(caFile: String? = nil) {
        client = HTTPClient(caFile: caFile, maxIdlePerHost: 50)
    }

    static func canLoad(caFile: String) -> Bool { HTTPClient.canLoad(caFile: caFile) }

    func post(url: String, body: [UInt8], headers: [(String, String)], timeout: Duration) async -> Int? {
        guard let target = URL(string: url) else { return nil }
        let request = HTTPClientRequest(method: "POST", url: target, headers: headers, body: body, timeout: timeout)
        return try? await client.send(request).status
    }
}
