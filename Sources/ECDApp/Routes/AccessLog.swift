import ECDHTTP
import Logging

/// One log line and a few metric samples per answered request, from the server's `onResponse`
/// hook. It names the route pattern (`/v1/accounts/{email}`), never the raw path or query, which
/// may carry an email, a link token, a code or a state.
struct AccessLog: Sendable {
    let logger: Logger
    let listener: String
    /// Set on the public listener, where requests arrive through the reverse proxy.
    let clientResolver: ClientAddressResolver?

    func record(_ request: HTTPRequest?, _ response: HTTPResponse, _ context: RequestContext, _ duration: Duration) {
        let method = request?.method.rawValue ?? "-"
        let route = context.routePattern
        ECDMetrics.recordHTTPRequest(listener: listener, method: method, route: route,
                                     status: response.status.code, duration: duration)

        // Everything below costs more than serving a cached token: skip it when the line would
        // be dropped anyway (`log.level` above info; above debug for a routine token read).
        let level = Self.level(status: response.status.code, route: route)
        guard logger.logLevel <= level else { return }
        let milliseconds = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "request_id": .string(context.requestID),
            "listener": .string(listener),
            "method": .string(method),
            "route": .string(route ?? "unmatched"),
            // Numbers stay numbers in the JSON line (`"status":200`), so log queries can compare them.
            "status": .stringConvertible(response.status.code),
            "duration_ms": .stringConvertible((milliseconds * 100).rounded() / 100),
            "bytes": .stringConvertible(response.body.count),
        ]
        if let traceparent = TraceParent.valid(request?.headers["traceparent"]) {
            metadata["traceparent"] = .string(traceparent)
        }
        if let request, let clientResolver {
            let client = clientResolver.resolve(peer: context.peerAddress, headers: request.headers)
            metadata["client"] = .string(client.address)
            if let proto = client.forwardedProto { metadata["proto"] = .string(proto) }
        } else {
            metadata["client"] = .string(context.peerAddress ?? "unix")
        }
        // The key check names the key it matched (by position) at the request's head.
        if let principal = context.principal { metadata["api_key"] = .string(principal) }
        logger.log(level: level, "request", metadata: metadata)
    }
}

extension AccessLog {
    /// A failure of ecd's own is a warning; a token served is routine (a service may ask many
    /// times a second), so it goes at debug and `info` keeps the lines worth reading.
    static func level(status: Int, route: String?) -> Logger.Level {
        if status >= 500 { return .warning }
        if status == 200, let route, route.utf8.count > 6, route.utf8.suffix(6).elementsEqual("/token".utf8) { return .debug }
        return .info
    }
}

extension String {
    /// Two decimals without Foundation's locale-dependent formatting.
    init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        self = "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
