import ECDURLSession
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The demo's HTTP client: plain URLSession, as any newcomer's script would use, except that it
/// never follows redirects by itself (the demo shows each hop) and keeps no cookies of its own
/// (the demo carries the state cookie by hand, as a browser would, to show it).
final class DemoHTTPClient: Sendable {
    struct Response: Sendable {
        var status: Int
        /// Header names lower-cased.
        var headers: [String: String]
        var body: Data

        var text: String { String(decoding: body, as: UTF8.self) }

        func json() throws -> [String: Any] {
            guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
                throw DemoError(step: "decode", message: "expected a JSON object, got: \(text.prefix(200))")
            }
            return object
        }
    }

    private let session: URLSession
    private let delegate = NoRedirects()

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        configuration.timeoutIntervalForRequest = 10
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
    }

    deinit { session.invalidateAndCancel() }

    func send(_ method: String, _ url: URL, headers: [String: String] = [:], json: Any? = nil) async throws -> Response {
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        // Not `session.data(for:)`: cancelling a task that awaits it can deadlock FoundationNetworking
        // on Linux (see SessionExchange); a demo step is cancelled when a test's time limit fires.
        let (data, response) = try await SessionExchange.send(request, on: session, timeout: .seconds(30))
        guard let http = response as? HTTPURLResponse else {
            throw DemoError(step: "http", message: "no HTTP response from \(url.host ?? "?")")
        }
        var lowered: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { lowered[name.lowercased()] = value }
        }
        return Response(status: http.statusCode, headers: lowered, body: data)
    }

    private final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }
}

/// A step of the demo that did not go as the story says.
struct DemoError: Error, Sendable, CustomStringConvertible {
    let step: String
    let message: String
    var description: String { "demo step \"\(step)\" failed: \(message)" }
}
