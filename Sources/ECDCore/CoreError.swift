/// Every failure the service layer reports to its callers; ECDApp maps each case to a status and
/// an error code (`CoreErrorMapping`, the one mapping: the statuses named below are its). Messages are meant for API users: they name emails and fields, never a token,
/// code, state or secret.
public enum CoreError: Error, Sendable, Equatable {
    /// 404: no such account, service account or request.
    case notFound(String)
    /// 422 naming the field or entry (`accounts[3].email`).
    case invalid(field: String, message: String)
    /// 422 for a batch of account requests: every refused entry (at most `EntryProblem.limit`,
    /// in entry order), so a caller fixes them all at once.
    case invalidEntries([EntryProblem])
    /// 409 `account_not_active`.
    case accountNotActive(status: AccountStatus)
    /// 503: the token is expired and Cronofy cannot be reached (or refuses for now).
    case cronofyUnavailable(String)
    /// 410: the connect link is unknown, used or expired.
    case linkUnusable
    /// 400: the OAuth state is missing, unknown, used, expired or does not match the cookie.
    case badState(String)
    /// 400: Cronofy answered `?error=` or refused the code.
    case connectFailed(String)
    /// 400/401/404 for delegated-access callbacks.
    case callbackRejected(CallbackRejection)
    /// 502 `cronofy_revoke_failed`: Cronofy did not confirm a revocation; the tokens are kept and
    /// the revocation is retried in the background (the message carries Cronofy's answer).
    case cronofyRevokeFailed(String)
    /// 402 `cronofy_plan_required`: Cronofy answered 402, the application's plan lacks Enterprise Connect.
    case cronofyPlanRequired
    /// 409 `account_revoking`: a request for accounts whose revocation Cronofy has not confirmed
    /// yet (it is retried in the background); nothing of the request was written.
    case accountRevoking(emails: [String])
}

extension CoreError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notFound(let what): return "not found: \(what)"
        case .invalid(let field, let message): return "\(field): \(message)"
        case .invalidEntries(let problems): return problems.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
        case .accountNotActive(let status): return "account is not active (status \(status.rawValue))"
        case .cronofyUnavailable(let reason): return "Cronofy is unavailable: \(reason)"
        case .linkUnusable: return "this connect link is unknown, already used or expired"
        case .badState(let reason): return "invalid OAuth state: \(reason)"
        case .connectFailed(let reason): return "connecting the service account failed: \(reason)"
        case .callbackRejected(let rejection): return "callback rejected (\(rejection.code)): \(rejection.message)"
        case .cronofyRevokeFailed(let reason): return reason
        case .cronofyPlanRequired: return Self.planRequiredMessage
        case .accountRevoking(let emails): return Self.revokingMessage(emails)
        }
    }

    /// Names the first few emails; the rest are counted.
    static func revokingMessage(_ emails: [String]) -> String {
        let shown = emails.prefix(5).joined(separator: ", ")
        let more = emails.count > 5 ? " and \(emails.count - 5) more" : ""
        return "the revocation of \(shown)\(more) is still pending with Cronofy (retried in the background); "
            + "request again once it is revoked, or DELETE the account with local_only=true to give up on it"
    }

    public static let planRequiredMessage =
        "Cronofy answered 402: the application's Cronofy plan does not include Enterprise Connect; upgrade the plan"
}

/// One refused entry of a batch request: its position, the field (`accounts[3].email`) and why.
public struct EntryProblem: Sendable, Equatable {
    /// A batch reports at most this many problems; past it, the client has enough to fix first.
    public static let limit = 100

    public var index: Int
    public var field: String
    public var message: String

    public init(index: Int, field: String, message: String) {
        self.index = index
        self.field = field
        self.message = message
    }
}
