import ECDText

/// An error that knows how it is answered: its status and a body
/// `{"error":{"code":…,"message":…[,"field":…]}}` plus optional extra top-level JSON fields
/// (already-encoded JSON values, keyed by name) and headers. The one writer of error bodies.
public struct HTTPError: Error, Sendable {
    public var status: HTTPStatus
    public var code: String
    public var message: String
    /// The offending request field, inside the error object (`accounts[2].email`).
    public var field: String?
    /// Extra top-level fields of the error body, each value already JSON-encoded (`"\"active\""`).
    public var extraJSONFields: [(name: String, json: String)]
    public var headers: HTTPHeaders
    /// Close the connection after answering (framing errors, limits).
    public var closeConnection: Bool

    public init(
        _ status: HTTPStatus, code: String, message: String, field: String? = nil,
        extraJSONFields: [(name: String, json: String)] = [], headers: HTTPHeaders = HTTPHeaders(),
        closeConnection: Bool = false
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extraJSONFields = extraJSONFields
        self.headers = headers
        self.closeConnection = closeConnection
    }

    /// The error rendered as a JSON response.
    public var response: HTTPResponse {
        var body = "{\"error\":{\"code\":\(JSONString.quote(code)),\"message\":\(JSONString.quote(message))"
        if let field { body += ",\"field\":\(JSONString.quote(field))" }
        body += "}"
        for field in extraJSONFields { body += ",\(JSONString.quote(field.name)):\(field.json)" }
        body += "}"
        var response = HTTPResponse.json(status, bytes: Array(body.utf8), headers: headers)
        if closeConnection { response.headers.replaceOrAdd(name: "Connection", value: "close") }
        return response
    }

    public static func notFound(_ message: String = "no such route") -> HTTPError {
        HTTPError(.notFound, code: "not_found", message: message)
    }
    public static func badRequest(_ message: String, code: String = "bad_request") -> HTTPError {
        HTTPError(.badRequest, code: code, message: message)
    }
}

/// JSON string quoting for hand-built bodies (`JSONText`'s escaping, as a `String`).
public enum JSONString {
    public static func quote(_ s: String) -> String { JSONText.quoted(s) }
}
