/// Why a delegated-access callback was refused, in the core's terms: ECDApp decides what each
/// one answers over HTTP (`CoreErrorMapping`). Whatever the reason, the callback changed nothing.
public enum CallbackRejection: Sendable, Equatable {
    /// The body is not a callback (not JSON of the form `{"authorization":{…}}`, or neither a code
    /// nor an error in it).
    case malformed(String)
    /// A `Cronofy-HMAC-SHA256` header that does not match (or none while signatures are required).
    case invalidSignature
    /// The state does not match the request's.
    case stateMismatch
    /// An error callback with neither the request's state nor a valid signature.
    case stateRequired
    /// No request has this callback URL, or the request no longer waits for a callback.
    case unknownRequest(String)

    /// The error code the API names it by.
    public var code: String {
        switch self {
        case .malformed: return "malformed_callback"
        case .invalidSignature: return "invalid_signature"
        case .stateMismatch: return "state_mismatch"
        case .stateRequired: return "state_required"
        case .unknownRequest: return "unknown_request"
        }
    }

    public var message: String {
        switch self {
        case .malformed(let message), .unknownRequest(let message): return message
        case .invalidSignature: return "the Cronofy-HMAC-SHA256 signature does not match"
        case .stateMismatch: return "the state does not match this request"
        case .stateRequired:
            return "an error callback must carry the request's state or a valid Cronofy-HMAC-SHA256 signature"
        }
    }
}
