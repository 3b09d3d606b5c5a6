#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import FoundationEssentials
#endif

/// One request of `HTTPClient`. `Content-Length` and `Host` are the client's: callers don't set them.
public struct HTTPClientRequest: Sendable {
    public var method: String
    public var url: URL
    public var headers: [(String, String)]
    public var body: [UInt8]?
    /// The deadline of the whole exchange (connect, TLS, request, response), not an idle timeout.
    public var timeout: Duration

    public init(method: String, url: URL, headers: [(String, String)] = [], body: [UInt8]? = nil, timeout: Duration = .seconds(15)) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// A complete response: header names lowercased (a repeated header's values joined with ", ").
public struct HTTPClientResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}
