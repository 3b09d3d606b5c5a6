/// Why the parser refused a request. The connection answers it with `status` and closes, since
/// after a framing error nothing that follows on the connection can be trusted (RFC 9112 §11.2).
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: HTTPStatus
    public let message: String

    public init(_ status: HTTPStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { "\(status.code) \(message)" }

    static func bad(_ message: String) -> HTTPParseError { HTTPParseError(.badRequest, message) }
}
