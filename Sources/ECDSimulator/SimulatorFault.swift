/// The endpoints a fault can target. `any` matches each of the five API endpoints.
public enum SimulatorEndpoint: String, Sendable, CaseIterable, Codable {
    case token, revoke, authorizations, userinfo, resources, authorize, any

    /// The endpoint a request path belongs to; nil for the control endpoint and unknown paths.
    static func of(path: String) -> SimulatorEndpoint? {
        switch path {
        case "/oauth/token": .token
        case "/oauth/token/revoke": .revoke
        case "/v1/service_account_authorizations": .authorizations
        case "/v1/userinfo": .userinfo
        case "/v1/resources": .resources
        case "/enterprise_connect/oauth/authorize", "/enterprise_connect/oauth/decision": .authorize
        default: nil
        }
    }
}

/// What an injected fault does to a call.
public enum SimulatorFault: Sendable, Hashable {
    /// `500` with a small JSON body.
    case serverError
    /// `429 Too Many Requests` with `Retry-After: <seconds>`.
    case rateLimited(retryAfterSeconds: Int)
    /// The normal answer, after this delay.
    case slow(Duration)
    /// `400 {"error":"invalid_client"}`, as the SDK fixtures show for a refused revoke: Cronofy
    /// did not act, and the grant is still alive.
    case invalidClient
    /// `402 Payment Required`: the application's plan lacks the feature (Enterprise Connect).
    case paymentRequired
}

/// A fault for the next `count` calls of an endpoint.
public struct SimulatorFaultRule: Sendable, Hashable {
    public var endpoint: SimulatorEndpoint
    public var fault: SimulatorFault
    public var count: Int

    public init(endpoint: SimulatorEndpoint, fault: SimulatorFault, count: Int = 1) {
        self.endpoint = endpoint
        self.fault = fault
        self.count = count
    }

    /// Parses `ENDPOINT:KIND[:COUNT]` where KIND is `500`, `429`, `429@SECONDS`,
    /// `slow@MILLISECONDS`, `invalid_client` or `402`: `token:500:3`, `any:429@2`,
    /// `userinfo:slow@1500:1`, `revoke:invalid_client:5`.
    public init(parsing text: String) throws(SimulatorConfigurationError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3,
            let endpoint = SimulatorEndpoint(rawValue: parts[0])
        else { throw .invalidValue(flag: "--fault", value: text, expected: "ENDPOINT:KIND[:COUNT]") }
        let count = parts.count == 3 ? Int(parts[2]) : 1
        guard let count, count > 0 else {
            throw .invalidValue(flag: "--fault", value: text, expected: "a positive COUNT")
        }
        let kind = parts[1]
        let fault: SimulatorFault
        if kind == "500" {
            fault = .serverError
        } else if kind == "429" {
            fault = .rateLimited(retryAfterSeconds: 1)
        } else if kind.hasPrefix("429@"), let seconds = Int(kind.dropFirst(4)), seconds >= 0 {
            fault = .rateLimited(retryAfterSeconds: seconds)
        } else if kind.hasPrefix("slow@"), let ms = Int(kind.dropFirst(5)), ms >= 0 {
            fault = .slow(.milliseconds(ms))
        } else if kind == "invalid_client" {
            fault = .invalidClient
        } else if kind == "402" {
            fault = .paymentRequired
        } else {
            throw .invalidValue(flag: "--fault", value: text,
                                expected: "KIND 500, 429, 429@SECONDS, slow@MILLISECONDS, invalid_client or 402")
        }
        self.init(endpoint: endpoint, fault: fault, count: count)
    }
}
