import ECDHTTP
import FoundationEssentials

/// Wraps every API endpoint: applies an injected fault if one is pending for it, then records
/// the call (target, raw body, `Authorization`, status) for the control API. Control requests
/// and unknown paths pass through untouched and unrecorded.
struct SimulatorInstrumentation: HTTPMiddleware {
    let store: SimulatorStore

    func handle(_ request: HTTPRequest, context: RequestContext, next: HTTPHandler) throws -> HTTPResult {
        guard let endpoint = SimulatorEndpoint.of(path: request.path) else { return try next(request, context) }
        let receivedAt = Date()
        let fault = store.withSettings { $0.takeFault(for: endpoint) }
        let result: HTTPResult
        switch fault {
        case .serverError?:
            result = .response(.simJSON(.internalServerError, .object([("error", .string("internal_server_error"))])))
        case .rateLimited(let seconds)?:
            var headers = HTTPHeaders()
            headers.add(name: "Retry-After", value: String(seconds))
            result = .response(.simJSON(.tooManyRequests, .object([("error", .string("too_many_requests"))]), headers: headers))
        case .invalidClient?:
            result = .response(.simJSON(.badRequest, .object([("error", .string("invalid_client"))])))
        case .paymentRequired?:
            result = .response(.simJSON(HTTPStatus(code: 402), .object([
                ("error", .string("payment_required")),
                ("message", .string("Enterprise Connect is not available on your current plan")),
            ])))
        case .slow(let delay)?:
            // Processed at once, answered late: like an upstream whose reply is slow to come
            // back, so a client that gives up may have changed state it never heard about
            // (e.g. a spent code).
            let inner = try next(request, context)
            result = .deferred {
                try await Task.sleep(for: delay)
                switch inner {
                case .response(let response): return response
                case .deferred(let work): return try await work()
                }
            }
        case nil:
            result = try next(request, context)
        }
        let store = self.store
        let call = SimulatorCall(
            endpoint: endpoint, method: request.method.rawValue, target: request.target,
            body: RequestBody.logText(request.body), authorization: request.headers["Authorization"], status: 0,
            receivedAt: receivedAt)
        return result.map { response in
            var recorded = call
            recorded.status = response.status.code
            store.record(recorded)
            return response
        }
    }
}
