import ECDHTTP
import Foundation

/// An HTTP endpoint on ECDHTTP's own server (loopback, port 0 unless given) that records every
/// request and answers it: from a script of statuses when one is set, else with `decide`.
/// Callback receivers and webhook endpoints in the tests are this.
public final class RecordingServer: Sendable {
    public struct Received: Sendable {
        public var method: HTTPMethod
        public var path: String
        public var headers: HTTPHeaders
        public var body: [UInt8]
        /// The status it was answered with.
        public var status: Int
        public func header(_ name: String) -> String? { headers[name] }
    }

    private let server: HTTPServer
    private let recorder: ScriptedRecorder<Received, Int?>

    /// `decide` answers a request no script covers (default 200); the body answered is `body`.
    public init(name: String = "recorder", port: Int = 0, body: String = #"{"status":"accepted"}"#,
                decide: @escaping @Sendable (HTTPRequest) -> Int = { _ in 200 }) throws {
        let recorder = ScriptedRecorder<Received, Int?>()
        self.recorder = recorder
        server = HTTPServer(
            configuration: HTTPServerConfiguration(name: name, listen: .tcp(host: "127.0.0.1", port: port)),
            responder: Responder(recorder: recorder, body: Array(body.utf8), decide: decide))
        try server.start()
    }

    public var port: Int { server.port }
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }
    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// The statuses the next requests get, in order; afterwards `decide` answers again.
    public func answer(_ statuses: [Int]) { recorder.answer(statuses) }

    public var requests: [Received] { recorder.all }

    /// The requests so far, once there are at least `count` (fewer when `timeout` passed first,
    /// so the caller's check on them fails).
    public func waitForRequests(_ count: Int, timeout: Duration = .seconds(10)) async -> [Received] {
        _ = await eventually(timeout: timeout) { requests.count >= count }
        return requests
    }

    /// What `found` makes of the requests once it makes something of them; nil after `timeout`.
    public func waitFor<T>(timeout: Duration = .seconds(10), _ found: ([Received]) -> T?) async -> T? {
        var value: T?
        _ = await eventually(timeout: timeout) {
            value = found(requests)
            return value != nil
        }
        return value
    }

    public func stop(deadline: Duration = .seconds(1)) async { await server.shutdown(deadline: deadline) }

    private struct Responder: HTTPResponder {
        let recorder: ScriptedRecorder<Received, Int?>
        let body: [UInt8]
        let decide: @Sendable (HTTPRequest) -> Int

        func respond(to request: HTTPRequest, context: RequestContext) -> HTTPResult {
            let decided = decide(request)
            // A scripted status replaces the decided one; the record says what was answered.
            let status = recorder.record(otherwise: nil) { scripted in
                Received(method: request.method, path: request.path, headers: request.headers,
                         body: request.body, status: scripted ?? decided)
            } ?? decided
            return .response(.json(HTTPStatus(code: status), bytes: body))
        }
    }
}
