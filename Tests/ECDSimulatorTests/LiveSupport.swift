import ECDHTTP
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import ECDSimulator

/// A simulator on a real loopback port, with an HTTP client that does not follow redirects.
struct LiveSimulator {
    let simulator: CronofySimulator
    let client = LiveClient()

    init(_ configure: (inout SimulatorConfiguration) -> Void = { _ in }) throws {
        var configuration = SimulatorConfiguration()
        configuration.listen = .tcp(host: "127.0.0.1", port: 0)
        configuration.callbackDelay = .milliseconds(5)
        configuration.callbackRetryBaseDelay = .milliseconds(50)
        configure(&configuration)
        simulator = CronofySimulator(configuration: configuration)
        try simulator.start()
    }

    func url(_ target: String) -> String { simulator.baseURL.absoluteString + target }
}

struct LiveResponse {
    var status: Int
    var headers: [String: String]
    var body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
    func json() throws -> [String: Any] { try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any]) }
}

final class LiveClient: Sendable {
    private let session: URLSession

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        session = URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
    }

    func send(_ method: String, _ url: String, body: String? = nil, contentType: String? = "application/json", bearer: String? = nil) async throws -> LiveResponse {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = method
        request.timeoutInterval = 10
        if let body {
            request.httpBody = Data(body.utf8)
            if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        }
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await session.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key] = value }
        }
        return LiveResponse(status: http.statusCode, headers: headers, body: data)
    }
}

/// Redirects are what is under test, so they are returned rather than followed.
private final class NoRedirects: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}

/// A tiny callback receiver: an `HTTPServer` that records what it is sent on
/// `POST /callbacks/{id}` and answers from a script (default 200).
final class CallbackReceiver: @unchecked Sendable {
    struct Received {
        var path: String
        var body: [UInt8]
        var headers: HTTPHeaders
    }

    private let lock = NSLock()
    private var received: [Received] = []
    private var script: [Int] = []
    let server: HTTPServer

    init(port: Int = 0) throws {
        var router = Router()
        let box = Box()
        router.post("/callbacks/{id}") { request, _ in
            let status = box.receiver?.record(request) ?? 200
            return .json(HTTPStatus(code: status), bytes: Array(#"{"status":"accepted"}"#.utf8))
        }
        server = HTTPServer(configuration: HTTPServerConfiguration(name: "receiver", listen: .tcp(host: "127.0.0.1", port: port)), responder: router)
        box.receiver = self
        try server.start()
    }

    var port: Int { server.port }
    func url(_ id: String) -> String { "http://127.0.0.1:\(port)/callbacks/\(id)" }

    func answer(_ statuses: [Int]) { lock.withLock { script = statuses } }

    var requests: [Received] { lock.withLock { received } }

    private func record(_ request: HTTPRequest) -> Int {
        lock.withLock {
            received.append(Received(path: request.path, body: request.body, headers: request.headers))
            return script.isEmpty ? 200 : script.removeFirst()
        }
    }

    /// The requests so far, once there are at least `count` (fewer when `timeout` passed first,
    /// so the caller's check on them fails).
    func waitForRequests(_ count: Int, timeout: Duration = .seconds(10)) async -> [Received] {
        _ = await eventually(timeout: timeout) { requests.count >= count }
        return requests
    }

    private final class Box: @unchecked Sendable {
        weak var receiver: CallbackReceiver?
    }
}

/// Polls `condition` every 10 ms until it holds; false when `timeout` passed first, which the
/// caller must check (a wait whose timeout is ignored lets a test go on from a state it never reached).
func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { return false }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return true
}
