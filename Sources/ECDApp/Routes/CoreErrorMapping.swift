import ECDCore
import ECDHTTP
import Logging

/// The one place where failures of the service layer become HTTP answers of the internal API
/// (and of the delegated-callback route). Every `CoreError` has exactly one status and error code.
enum CoreErrorMapping {
    static func apiError(for error: CoreError) -> APIError {
        switch error {
        case .notFound(let message):
            return APIError(.notFound, code: "not_found", message: message)
        case .invalid(let field, let message):
            return APIError(.unprocessableContent, code: "invalid_field", message: message, field: field)
        case .invalidEntries(let problems):
            return AccountRoutes.invalidEntries(problems, single: false)
        case .accountNotActive(.reauthorizing):
            // ecd is asking Cronofy again by itself; the callback usually comes within seconds.
            var headers = HTTPHeaders()
            headers.add(name: "Retry-After", value: "10")
            return APIError(.conflict, code: "account_reauthorizing",
                            message: "Cronofy refused the account's refresh token; ecd is requesting access again through the service account",
                            topLevel: [("status", JSONString.quote(AccountStatus.reauthorizing.rawValue))], headers: headers)
        case .accountNotActive(let status):
            return APIError(.conflict, code: "account_not_active",
                            message: "the account is \(status.rawValue), not active",
                            topLevel: [("status", JSONString.quote(status.rawValue))])
        case .cronofyUnavailable(let message):
            var headers = HTTPHeaders()
            headers.add(name: "Retry-After", value: "5")
            return APIError(.serviceUnavailable, code: "cronofy_unavailable", message: message, headers: headers)
        case .linkUnusable:
            return APIError(.gone, code: "link_unusable", message: "the connect link is unknown, used or expired")
        case .badState(let message):
            return APIError(.badRequest, code: "bad_state", message: message)
        case .connectFailed(let message):
            return APIError(.badRequest, code: "connect_failed", message: message)
        case .callbackRejected(let rejection):
            return APIError(status(of: rejection), code: rejection.code, message: rejection.message)
        case .cronofyRevokeFailed(let message):
            return APIError(.badGateway, code: "cronofy_revoke_failed", message: message)
        case .cronofyPlanRequired:
            return APIError(HTTPStatus(code: 402), code: "cronofy_plan_required", message: CoreError.planRequiredMessage)
        case .accountRevoking:
            return APIError(.conflict, code: "account_revoking", message: error.description)
        }
    }

    /// A write (or an uncached read) while the database cannot be reached: 503, try again.
    static let storageUnavailable: APIError = {
        var headers = HTTPHeaders()
        headers.add(name: "Retry-After", value: "5")
        return APIError(.serviceUnavailable, code: "storage_unavailable",
                        message: "the database cannot be reached now; try again", headers: headers)
    }()

    /// A refused callback: 400 when it is not a valid callback for its request, 401 for a bad
    /// signature, 404 when no request waits for it (Cronofy then stops sending it).
    static func status(of rejection: CallbackRejection) -> HTTPStatus {
        switch rejection {
        case .malformed, .stateMismatch, .stateRequired: return .badRequest
        case .invalidSignature: return .unauthorized
        case .unknownRequest: return .notFound
        }
    }

    /// The router's hook for every error a handler throws that is not an `HTTPError`: the API's
    /// own errors and the core's render as such; anything else is a bug or an unexpected failure,
    /// logged with the request id (its description may not be shown to the client) and answered 500.
    static func renderer(logger: Logger) -> @Sendable (any Error, HTTPRequest, RequestContext) -> HTTPResponse {
        { error, request, context in
            if let error = error as? APIError { return error.response }
            if let error = error as? CoreError { return apiError(for: error).response }
            if let error = error as? StorageError, case .unavailable = error {
                // The database is away (PostgreSQL restarting, a SQLite disk full or locked past
                // its busy timeout): the client may try again (every write of the API is safe to
                // repeat; a commit whose answer was lost may have happened). The cause
                // (a driver message that never carries a bound value) goes to the log only.
                logger.warning("storage unavailable", metadata: [
                    "request_id": .string(context.requestID), "route": .string(context.routePattern ?? "unmatched"),
                    "error": .string(error.description),
                ])
                return storageUnavailable.response
            }
            logUnexpected(error, context: context, logger: logger)
            return APIError.internal(requestID: context.requestID).response
        }
    }

    /// Logs a failure that has no answer of its own, with the request id the client is shown.
    static func logUnexpected(_ error: any Error, context: RequestContext, logger: Logger) {
        logger.error("unexpected error", metadata: [
            "request_id": .string(context.requestID),
            "route": .string(context.routePattern ?? "unmatched"),
            "error_type": .string(String(reflecting: type(of: error))),
            "error": .string(String(describing: error)),
        ])
    }
}
