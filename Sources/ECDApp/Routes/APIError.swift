import ECDHTTP

/// An error of the internal API, rendered in the one shape api-contract.md §4 fixes:
/// `{"error":{"code":…,"message":…[,"field":…]}[,route-specific top-level fields]}`.
///
/// A 422 names its field twice: inside the error object (where a reader of the error looks) and
/// at the top level beside it (where docs/openapi.yaml's `Error` schema has it), so clients
/// written against either find it. Rendered by the routers' error hook, through `HTTPError` (the
/// one writer of error bodies), always `Cache-Control: no-store`.
struct APIError: Error, Sendable {
    var status: HTTPStatus
    var code: String
    var message: String
    /// The offending field of a request (`accounts[2].email`, `limit`), inside the error object.
    var field: String?
    /// Extra top-level fields, each already JSON-encoded (the 409's `"status"`).
    var topLevel: [(name: String, json: String)]
    var headers: HTTPHeaders

    init(_ status: HTTPStatus, code: String, message: String, field: String? = nil,
         topLevel: [(name: String, json: String)] = [], headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.topLevel = topLevel
        self.headers = headers
    }

    var response: HTTPResponse {
        var headers = self.headers
        headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        let fieldAtTop = field.map { [(name: "field", json: JSONString.quote($0))] } ?? []
        return HTTPError(status, code: code, message: message, field: field, extraJSONFields: fieldAtTop + topLevel,
                         headers: headers).response
    }

    static func invalidJSON(_ message: String) -> APIError {
        APIError(.badRequest, code: "invalid_json", message: message)
    }

    static func invalidField(_ field: String, _ message: String) -> APIError {
        APIError(.unprocessableContent, code: "invalid_field", message: message, field: field)
    }

    static func notFound(_ message: String) -> APIError {
        APIError(.notFound, code: "not_found", message: message)
    }

    static func unauthorized() -> APIError {
        var headers = HTTPHeaders()
        headers.add(name: "WWW-Authenticate", value: "Bearer realm=\"ecd\"")
        return APIError(.unauthorized, code: "unauthorized",
                        message: "a valid API key is required: Authorization: Bearer <key>", headers: headers)
    }

    /// A valid key without the permission (README "Roles"): names the permission, the key's name
    /// and role, never the key.
    static func forbidden(_ permission: Permission, key: APIKey, detail: String? = nil) -> APIError {
        let message = "the key \(key.name) (role \(key.role.rawValue)) lacks the permission \(permission.rawValue)"
            + (detail.map { " " + $0 } ?? "")
        return APIError(.forbidden, code: "forbidden", message: message,
                        topLevel: [("permission", JSONString.quote(permission.rawValue))])
    }

    /// The audit log could not be written, so the request is refused rather than left unrecorded.
    static func auditUnavailable() -> APIError {
        var headers = HTTPHeaders()
        headers.add(name: "Retry-After", value: "5")
        return APIError(.serviceUnavailable, code: "audit_unavailable",
                        message: "the audit log cannot be written, so the request was refused (see ecd's log)", headers: headers)
    }

    static func `internal`(requestID: String) -> APIError {
        APIError(.internalServerError, code: "internal_error",
                 message: "internal error (request id \(requestID))")
    }
}
