import ECDCrypto

/// One delegated-access outcome to POST to a `callback_url`, decided when the request was accepted.
struct CallbackJob: Sendable {
    var email: String
    var scope: String
    var callbackURL: String
    var state: String?
    var serviceAccountGrantID: Int
    /// Answer `unable_to_grant_scope` instead of a code.
    var refused: Bool
    /// Never send it.
    var dropped: Bool

    static let refusalDescription = "The service account was unable to grant the requested scope for this mailbox"

    /// `{"authorization":{"code","state"}}`, `state` only when the request carried one.
    static func successBody(code: String, state: String?) -> SimJSON {
        var fields: [(String, SimJSON)] = [("code", .string(code))]
        if let state { fields.append(("state", .string(state))) }
        return .object([("authorization", .object(fields))])
    }

    /// `{"authorization":{"error","error_key","error_description","state"}}`.
    static func refusalBody(state: String?) -> SimJSON {
        var fields: [(String, SimJSON)] = [
            ("error", .string("unable_to_grant_scope")),
            ("error_key", .string("unable_to_grant_scope")),
            ("error_description", .string(refusalDescription)),
        ]
        if let state { fields.append(("state", .string(state))) }
        return .object([("authorization", .object(fields))])
    }
}

/// `Cronofy-HMAC-SHA256`: standard Base64 (with padding) of HMAC-SHA256 keyed by the client
/// secret's UTF-8 bytes over the raw body bytes (reference §7).
enum CallbackSignature {
    static let headerName = "Cronofy-HMAC-SHA256"

    static func value(clientSecret: String, body: [UInt8]) -> String {
        Base64.encode(HMACSHA256.mac(key: Array(clientSecret.utf8), message: body))
    }
}
