/// An error that knows how it is answered: its status and a body
/// `{"error":{"code":…,"message":…}}` plus optional extra top-level JSON fields
/// (already-encoded JSON values, keyed by name) and headers.
public struct HTTPError: Error, Sendable {
    public var status: HTTPStatus
    public var code: String
    public var message: String
    /// Extra top-level fields of the error body, each value already JSON-encoded (`"\"active\""`).
    public var extraJSONFields: [(name: String, json: String)]
    public var headers: HTTPHeaders
    /// Close the connection after answering (framing errors, limits).
    public var closeConnection: Bool

    public init(
        _ status: HTTPStatus, code: String, message: String,
        extraJSONFields: [(name: String, json: String)] = [], headers: HTTPHeaders = HTTPHeaders(),
        closeConnection: Bool = false
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.extraJSONFields = extraJSONFields
        self.headers = headers
        self.closeConnection = closeConnection
    }

    /// The error rendered as a JSON response.
    public var response: HTTPResponse {
        var body = "{\"error\":{\"code\":\(JSONString.quote(code)),\"message\":\(JSONString.quote(message))}"
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

/// Minimal JSON string quoting (RFC 8259 §7) for hand-built bodies.
public enum JSONString {
    public static func quote(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }
}
