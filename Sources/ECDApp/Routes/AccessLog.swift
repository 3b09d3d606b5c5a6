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
    /// The logger's level, read once: a `Logger` is a value, so this copy's level cannot change.
    private let threshold: Logger.Level
    /// Set when the logger is ecd's own handler with no metadata of its own: lines are then
    /// written as bytes straight into its sink (``AccessLogLine``), not through swift-log.
    private let direct: Direct?

    struct Direct: Sendable {
        let label: String
        let format: LogFormat
        let sink: LogSink
    }

    init(logger: Logger, listener: String, clientResolver: ClientAddressResolver?) {
        self.logger = logger
        self.listener = listener
        self.clientResolver = clientResolver
        self.threshold = logger.logLevel
        if let handler = logger.handler as? ECDLogHandler, handler.metadata.isEmpty, handler.metadataProvider == nil {
            direct = Direct(label: handler.label, format: handler.format, sink: handler.sink)
        } else {
            direct = nil
        }
    }

    func record(_ request: HTTPRequest?, _ response: HTTPResponse, _ context: RequestContext, _ duration: Duration) {
        let method = request?.method.rawValue ?? "-"
        let route = context.routePattern
        let status = response.status.code
        ECDMetrics.recordHTTPRequest(listener: listener, method: method, route: route,
                                     status: status, duration: duration)

        // Nothing below warning is written at `log.level` warning or above: one comparison is
        // all a routine request costs then.
        if status < 500 && threshold > .info { return }
        let level = Self.level(status: status, route: route)
        guard threshold <= level else { return }
        var line = AccessLogLine(
            level: level, requestID: context.requestID, listener: listener, method: method,
            route: route ?? "unmatched", status: status,
            durationHundredths: AccessLogLine.hundredths(duration), bytes: response.body.count,
            client: context.peerAddress ?? "unix", proto: nil,
            traceparent: TraceParent.valid(request?.headers["traceparent"]),
            // The key check names the key it matched (by position) at the request's head.
            apiKey: context.principal)
        if let request, let clientResolver {
            let client = clientResolver.resolve(peer: context.peerAddress, headers: request.headers)
            line.client = client.address
            line.proto = client.forwardedProto
        }
        if let direct {
            let (seconds, milliseconds) = LogTimestamp.current()
            var bytes: [UInt8] = []
            bytes.reserveCapacity(AccessLogLine.typicalSize)
            line.append(format: direct.format, label: direct.label, seconds: seconds, milliseconds: milliseconds, to: &bytes)
            direct.sink.write(bytes)
        } else {
            logger.log(level: level, "request", metadata: line.metadata)
        }
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

extension AccessLogLine {
    /// The fields as swift-log metadata, for a logger that is not ecd's own handler (tests
    /// capture lines this way). Numbers stay numbers in a JSON line (`"status":200`).
    var metadata: Logger.Metadata {
        var metadata: Logger.Metadata = [
            "request_id": .string(requestID),
            "listener": .string(listener),
            "method": .string(method),
            "route": .string(route),
            "status": .stringConvertible(status),
            "duration_ms": .stringConvertible(Double(durationHundredths) / 100),
            "bytes": .stringConvertible(bytes),
            "client": .string(client),
        ]
        if let traceparent { metadata["traceparent"] = .string(traceparent) }
        if let proto { metadata["proto"] = .string(proto) }
        if let apiKey { metadata["api_key"] = .string(apiKey) }
        return metadata
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
