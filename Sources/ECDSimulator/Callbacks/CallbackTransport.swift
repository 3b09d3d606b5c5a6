import ECDURLSession
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// How a callback leaves the simulator. A protocol so that the dispatcher's retry logic can be
/// tested without sockets; `URLSessionCallbackTransport` is the real one.
protocol CallbackTransport: Sendable {
    /// POSTs `body` and returns the receiver's status, or nil when it could not be reached or
    /// did not answer within `timeout`.
    func post(url: String, body: [UInt8], headers: [(String, String)], timeout: Duration) async -> Int?
}

struct URLSessionCallbackTransport: CallbackTransport {
    private let session: URLSession

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        // A batch sends up to 50 callbacks to one host at once; URLSession's default of 6
        // connections per host would queue most of them behind each other.
        configuration.httpMaximumConnectionsPerHost = 16
        session = URLSession(configuration: configuration)
    }

    func post(url: String, body: [UInt8], headers: [(String, String)], timeout: Duration) async -> Int? {
        guard let target = URL(string: url) else { return nil }
        var request = URLRequest(url: target)
        request.httpMethod = "POST"
        request.httpBody = Data(body)
        // corelibs truncates the idle timeout to whole seconds (0.3 s would be immediate): round
        // up; SessionExchange enforces `timeout` exactly, for the whole exchange.
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        request.timeoutInterval = max(1, seconds.rounded(.up))
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        do {
            // Not `session.data(for:)`: shutdown cancels delivery tasks, and cancelling one that
            // awaits data(for:) as its answer arrives deadlocks FoundationNetworking (see
            // SessionExchange).
            let (_, response) = try await SessionExchange.send(request, on: session, timeout: timeout)
            return (response as? HTTPURLResponse)?.statusCode
        } catch {
            return nil
        }
    }
}
