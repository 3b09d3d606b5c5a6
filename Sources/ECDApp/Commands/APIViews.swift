import ECDCore
import Foundation

/// The internal API's objects as the command-line clients read them: only what a table shows,
/// times kept as the ISO 8601 text the daemon sent (JSON output prints the answer unchanged).
struct AccountView: Decodable, Sendable {
    struct Failure: Decodable, Sendable {
        let error: String
        let errorDescription: String?
        enum CodingKeys: String, CodingKey { case error, errorDescription = "error_description" }

        var text: String { errorDescription.map { "\(error): \($0)" } ?? error }
    }

    /// A re-request of an active account (`renewal`): `pending` or `failed`.
    struct Renewal: Decodable, Sendable {
        let status: String
        let error: Failure?
    }

    let email: String
    let status: String
    let renewal: Renewal?
    let serviceAccountID: String?
    let scope: String?
    let error: Failure?
    let requestedAt: String?
    let authorizedAt: String?
    let tokenExpiresAt: String?
    let updatedAt: String?

    enum CodingKeys: String, CodingKey {
        case email, status, scope, error, renewal
        case serviceAccountID = "service_account_id"
        case requestedAt = "requested_at"
        case authorizedAt = "authorized_at"
        case tokenExpiresAt = "token_expires_at"
        case updatedAt = "updated_at"
    }

    /// "error: description" of a failed account.
    var failureText: String? { error.map(\.text) }

    /// Active, with a re-request in flight: it has not settled yet.
    var isRenewing: Bool { status == "active" && renewal?.status == "pending" }
}

struct AccountListView: Decodable, Sendable {
    let accounts: [AccountView]
    let next: String?
}

struct ServiceAccountView: Decodable, Sendable {
    let id: String
    let email: String?
    let domain: String?
    let provider: String?
    let label: String?
    let status: String
    let scope: String?
    let delegatedScope: String?
    let connectedAt: String?
    let updatedAt: String?

    enum CodingKeys: String, CodingKey {
        case id, email, domain, provider, label, status, scope
        case delegatedScope = "delegated_scope"
        case connectedAt = "connected_at"
        case updatedAt = "updated_at"
    }
}

struct ServiceAccountListView: Decodable, Sendable {
    let serviceAccounts: [ServiceAccountView]
    enum CodingKeys: String, CodingKey { case serviceAccounts = "service_accounts" }
}

struct EventView: Codable, Sendable {
    let id: Int64
    let type: String
    let at: String
    let serviceAccountID: String?
    let email: String?
    let data: [String: JSONValue]?

    enum CodingKeys: String, CodingKey {
        case id, type, at, email, data
        case serviceAccountID = "service_account_id"
    }

    /// `key=value` pairs of `data`, sorted, for a table cell.
    var dataText: String {
        (data ?? [:]).sorted { $0.key < $1.key }.map { key, value in
            switch value {
            case .string(let text): "\(key)=\(text)"
            case .number(let number) where number == number.rounded() && abs(number) < 1e15: "\(key)=\(Int64(number))"
            default: "\(key)=" + String(decoding: (try? JSONEncoder().encode(value)) ?? Data(), as: UTF8.self)
            }
        }.joined(separator: " ")
    }
}

struct EventPageView: Decodable, Sendable {
    let events: [EventView]
    let nextAfter: Int64
    enum CodingKeys: String, CodingKey { case events, nextAfter = "next_after" }
}

/// A token answer, for the table: never the token itself on a terminal.
struct TokenView: Decodable, Sendable {
    let expiresAt: String?
    let expiresIn: Int?
    let scope: String?
    enum CodingKeys: String, CodingKey { case expiresAt = "expires_at", expiresIn = "expires_in", scope }
}
