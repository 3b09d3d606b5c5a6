import FoundationEssentials

/// One HTTP request as the client hands it to a transport. Header order is preserved.
public struct TransportRequest: Sendable {
    public var method: String
    public var url: URL
    public var headers: [(String, String)]
    public var body: [UInt8]?
    public var timeout: Duration

    public init(method: String, url: URL, headers: [(String, String)] = [], body: [UInt8]? = nil,
                timeout: Duration = .seconds(15)) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }

    /// First value of a header, case-insensitively.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.0.lowercased() == lower }?.1
    }
}

/// One HTTP response. Header names are lower-cased so lookups need no case folding.
public struct TransportResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        var lowered: [String: String] = [:]
        for (name, value) in headers { lowered[name.lowercased()] = value }
        self.headers = lowered
        self.body = body
    }
}

/// Sends one HTTP request. Implementations throw `HTTPClientError` (`.timedOut` for timeouts, the
/// other cases for connection failures) or a `CronofyError`; anything else is treated as a
/// connection failure.
public protocol CronofyTransport: Sendable {
    func send(_ request: TransportRequest) async throws -> TransportResponse
}
