import ECDHTTPClient
import Foundation

/// The demo's HTTP client: the package's `HTTPClient`, which never follows redirects by itself
/// (the demo shows each hop) and keeps no cookies (the demo carries the state cookie by hand, as a
/// browser would, to show it).
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

    private let client = HTTPClient()

    func send(_ method: String, _ url: URL, headers: [String: String] = [:], json: Any? = nil) async throws -> Response {
        var fields = headers.map { ($0.key, $0.value) }
        var body: [UInt8]?
        if let json {
            body = try [UInt8](JSONSerialization.data(withJSONObject: json))
            fields.append(("Content-Type", "application/json"))
        }
        do {
            let response = try await client.send(HTTPClientRequest(method: method, url: url, headers: fields, body: body, timeout: .seconds(30)))
            return Response(status: response.status, headers: response.headers, body: Data(response.body))
        } catch {
            throw DemoError(step: "http", message: "\(method) \(url.host ?? "?"): \(error)")
        }
    }
}

/// A step of the demo that did not go as the story says.
struct DemoError: Error, Sendable, CustomStringConvertible {
    let step: String
    let message: String
    var description: String { "demo step \"\(step)\" failed: \(message)" }
}
