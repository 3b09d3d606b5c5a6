import FoundationEssentials

/// A complete response. The server adds `Content-Length`, `Date` and `Connection` when writing it
/// (a handler never needs to), and drops the body of a response to `HEAD`.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response whose body is already-encoded JSON bytes.
    public static func json(_ status: HTTPStatus = .ok, bytes: [UInt8], headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var h = headers
        h.replaceOrAdd(name: "Content-Type", value: "application/json")
        return HTTPResponse(status: status, headers: h, body: bytes)
    }

    /// A response with an `Encodable` value as JSON (sorted keys are not required; ISO 8601 dates).
    public static func json<T: Encodable>(_ status: HTTPStatus = .ok, _ value: T, headers: HTTPHeaders = HTTPHeaders()) throws -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return json(status, bytes: Array(try encoder.encode(value)), headers: headers)
    }

    public static func text(_ status: HTTPStatus = .ok, _ text: String, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var h = headers
        h.replaceOrAdd(name: "Content-Type", value: "text/plain; charset=utf-8")
        return HTTPResponse(status: status, headers: h, body: Array(text.utf8))
    }

    public static func html(_ status: HTTPStatus = .ok, _ html: String, headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var h = headers
        h.replaceOrAdd(name: "Content-Type", value: "text/html; charset=utf-8")
        return HTTPResponse(status: status, headers: h, body: Array(html.utf8))
    }
}
