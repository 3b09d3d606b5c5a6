import ArgumentParser
import Foundation

/// `--url` and `--timeout`, shared by the thin clients; the API key comes from `ECD_API_KEY` so it
/// never shows in `ps` or shell history.
struct ClientOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The internal API: http://HOST:PORT or unix:PATH.", valueName: "url"))
    var url = "http://127.0.0.1:8081"

    @Option(help: ArgumentHelp("Seconds to wait for the daemon.", valueName: "seconds"))
    var timeout = 60

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func client(environment: [String: String] = ProcessInfo.processInfo.environment) throws(CommandFailure) -> InternalAPIClient {
        guard let key = environment["ECD_API_KEY"], !key.isEmpty else {
            throw CommandFailure("ECD_API_KEY is not set: export one of the internal API keys (internal.api_keys)")
        }
        return InternalAPIClient(endpoint: try InternalAPIEndpoint(parsing: url), apiKey: key, timeout: .seconds(timeout))
    }
}

/// Calls one route of the internal API and turns the answer into output or a failure.
struct InternalAPIClient: Sendable {
    let endpoint: InternalAPIEndpoint
    let apiKey: String
    let timeout: Duration

    /// Sends the request; returns the body of a 2xx answer, else throws the API's error message.
    func send(_ method: String, _ path: String, query: [(String, String?)] = [], json: [UInt8]? = nil) throws(CommandFailure) -> [UInt8] {
        var target = endpoint.basePath + path
        let items = query.compactMap { name, value in value.map { "\(name)=\(Self.encode($0))" } }
        if !items.isEmpty { target += "?" + items.joined(separator: "&") }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(endpoint.hostHeader)\r\n"
        head += "Authorization: Bearer \(apiKey)\r\nAccept: application/json\r\nUser-Agent: ecd-cli\r\nConnection: close\r\n"
        if let json {
            head += "Content-Type: application/json\r\nContent-Length: \(json.count)\r\n"
        } else if method == "POST" {
            head += "Content-Length: 0\r\n"
        }
        let request = Array((head + "\r\n").utf8) + (json ?? [])
        let response = try HTTPClientConnection.exchange(endpoint.transport, request: request, timeout: timeout)
        guard (200..<300).contains(response.status) else {
            throw CommandFailure(Self.errorMessage(response))
        }
        return response.body
    }

    /// `{"error":{"code","message"}}` → "message (HTTP 404, not_found)"; any other body → the status.
    static func errorMessage(_ response: HTTPClientConnection.Response) -> String {
        struct Envelope: Decodable {
            struct Detail: Decodable { let code: String?; let message: String? }
            let error: Detail
        }
        if let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(response.body)),
           let message = envelope.error.message {
            let code = envelope.error.code.map { ", \($0)" } ?? ""
            return "\(message) (HTTP \(response.status)\(code))"
        }
        return "the daemon answered HTTP \(response.status)"
    }

    /// Percent-encodes a path segment or query value: everything but unreserved characters and `@`.
    static func encode(_ value: String) -> String {
        var allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        allowed.insert("@")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

/// Prints a JSON response body on standard output, one trailing newline.
func printResponse(_ body: [UInt8]) {
    StandardStreams.out(String(decoding: body, as: UTF8.self))
}
