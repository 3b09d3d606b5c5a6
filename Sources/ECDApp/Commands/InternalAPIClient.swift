import Foundation

/// Calls one route of the internal API and turns the answer into output or a failure.
struct InternalAPIClient: Sendable {
    let endpoint: InternalAPIEndpoint
    let apiKey: String
    let timeout: Duration
    /// Where the URL came from (`--url`, `ECD_URL`, the configuration…), named when it cannot be reached.
    var origin: String = "--url"

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
        let response: HTTPClientConnection.Response
        do {
            response = try HTTPClientConnection.exchange(endpoint.transport, request: request, timeout: timeout)
        } catch {
            // Say where the address came from: a stale ECD_URL is easier to spot that way.
            throw CommandFailure(lines: error.lines.enumerated().map { $0 == 0 ? "\($1) (the address is from \(origin))" : $1 },
                                 exitCode: error.exitCode)
        }
        if Self.isPublicListener(response) {
            throw CommandFailure(
                "this is ecd's public listener; point --url (or ECD_URL) at the internal listener (internal.listen)")
        }
        guard (200..<300).contains(response.status) else {
            throw CommandFailure(lines: Self.errorLines(response))
        }
        return response.body
    }

    /// The public listener marks its pages (`X-ECD-Listener: public`); an HTML answer to an API
    /// route is the same mistake made through a proxy that drops the header.
    static func isPublicListener(_ response: HTTPClientConnection.Response) -> Bool {
        if response.headers["x-ecd-listener"]?.lowercased() == "public" { return true }
        return response.status == 404 && response.headers["content-type"]?.lowercased().hasPrefix("text/html") == true
            && String(decoding: response.body, as: UTF8.self).contains("There is nothing at this address")
    }

    private struct Envelope: Decodable {
        struct Detail: Decodable { let code: String?; let message: String?; let field: String? }
        struct Problem: Decodable { let field: String; let message: String }
        let error: Detail
        let errors: [Problem]?
    }

    /// `{"error":{"code","message"}}` → "message (HTTP 404, not_found)"; any other body → the status.
    static func errorMessage(_ response: HTTPClientConnection.Response) -> String {
        errorLines(response)[0]
    }

    /// The error message, then one line per refused entry of a 422 that lists them.
    static func errorLines(_ response: HTTPClientConnection.Response) -> [String] {
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(response.body)),
              let message = envelope.error.message else {
            return ["the daemon answered HTTP \(response.status)"]
        }
        let code = envelope.error.code.map { ", \($0)" } ?? ""
        let problems = (envelope.errors ?? []).map { "\($0.field): \($0.message)" }
        if problems.count > 1 { return ["\(message) (HTTP \(response.status)\(code))"] + problems }
        // One field at fault: name it, the message alone may not say which entry it is.
        let named = envelope.error.field.map { "\($0): \(message)" } ?? message
        return ["\(named) (HTTP \(response.status)\(code))"]
    }

    /// Percent-encodes a path segment or query value: everything but unreserved characters and `@`.
    static func encode(_ value: String) -> String {
        var allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        allowed.insert("@")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// Sends and decodes a JSON answer.
    func get<T: Decodable>(_ type: T.Type, _ path: String, query: [(String, String?)] = []) throws(CommandFailure) -> T {
        try Self.decode(type, try send("GET", path, query: query))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws(CommandFailure) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw CommandFailure("the daemon's answer is not what this ecd expects (\(type)): is it the same version?")
        }
    }
}

/// Prints a JSON response body on standard output, one trailing newline.
func printResponse(_ body: [UInt8]) {
    StandardStreams.out(String(decoding: body, as: UTF8.self))
}
