import FoundationEssentials

public enum EventType: String, Sendable, Codable, CaseIterable {
    case serviceAccountConnected = "service_account.connected"
    case serviceAccountConnectFailed = "service_account.connect_failed"
    case serviceAccountReauthorizationRequired = "service_account.reauthorization_required"
    case serviceAccountRevoked = "service_account.revoked"
    case serviceAccountRevokeFailed = "service_account.revoke_failed"
    case accountRequested = "account.requested"
    case accountAuthorized = "account.authorized"
    case accountFailed = "account.failed"
    case accountReauthorizing = "account.reauthorizing"
    case accountRenewalFailed = "account.renewal_failed"
    case accountReauthorizationRequired = "account.reauthorization_required"
    case accountRevoked = "account.revoked"
    case accountRevokeFailed = "account.revoke_failed"
}

/// One change of status (api-contract.md §5). `data` never carries a token or a code.
public struct Event: Sendable, Equatable, Codable {
    public var id: Int64
    public var type: EventType
    public var at: Date
    public var serviceAccountID: String?
    public var email: String?
    public var data: [String: JSONValue]

    public init(id: Int64, type: EventType, at: Date, serviceAccountID: String?, email: String?,
                data: [String: JSONValue]) {
        self.id = id
        self.type = type
        self.at = at
        self.serviceAccountID = serviceAccountID
        self.email = email
        self.data = data
    }

    enum CodingKeys: String, CodingKey {
        case id, type, at, email, data
        case serviceAccountID = "service_account_id"
    }
    // Synthesized encoding omits absent `service_account_id`/`email`, as api-contract.md §5 marks them optional.
}

/// A page of `GET /v1/events`; `next_after` is the id to pass as `after` next time (the last id
/// served, or the `after` given when nothing new).
public struct EventPage: Sendable, Equatable, Codable {
    public var events: [Event]
    public var nextAfter: Int64

    public init(events: [Event], nextAfter: Int64) {
        self.events = events
        self.nextAfter = nextAfter
    }

    enum CodingKeys: String, CodingKey {
        case events
        case nextAfter = "next_after"
    }
}
