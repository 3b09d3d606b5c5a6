import ECDHTTP

/// Which permission each internal route needs, which accounts a scoped key may reach through it,
/// and what the audit log records: the one table of README "Roles". A route registered without a
/// rule here is `admin`-only, and the role×route test fails until it gets one.
enum AccessPolicy {
    struct Rule: Sendable, Equatable {
        enum Access: Sendable, Equatable {
            /// No key at all (`/healthz`).
            case open
            /// `metrics:read`, or no key with `internal.open_probes`.
            case probe
            case permission(Permission)
        }

        /// What a `tokens` key limited to some service accounts or domains may reach.
        enum Scope: Sendable, Equatable {
            /// Not account-specific (or not open to scoped keys at all).
            case none
            /// The account named by this path parameter.
            case account(parameter: String)
            /// A list of accounts, filtered down to the key's.
            case accountList
        }

        let access: Access
        var scope: Scope = .none
        /// The audit action recorded for every call (nil: only a forbidden call is recorded).
        var audit: String?
        /// The path parameter the audit line names as its target.
        var target: String?
        /// The call changes something (Vault's audit-device model): its request is recorded before
        /// it is acted on (a failed write: 503, nothing done), its outcome after (a failed write
        /// then leaves the answer as it is: the action happened, and its request is on record).
        /// A read is recorded once, after, and a failed write withholds the answer.
        var changes = false

        var permission: Permission? {
            switch access {
            case .open: nil
            case .probe: .metricsRead
            case .permission(let permission): permission
            }
        }
    }

    /// Keyed `METHOD pattern`, exactly as the routes are registered.
    static let rules: [String: Rule] = [
        "GET /healthz": Rule(access: .open),
        "GET /readyz": Rule(access: .probe),
        "GET /metrics": Rule(access: .probe),
        "POST /v1/service-accounts/connect-links": Rule(access: .permission(.serviceAccountsConnect), audit: "connect_link.create",
                                                         changes: true),
        "GET /v1/service-accounts": Rule(access: .permission(.serviceAccountsRead)),
        "GET /v1/service-accounts/{id}": Rule(access: .permission(.serviceAccountsRead)),
        "GET /v1/service-accounts/{id}/token": Rule(access: .permission(.serviceAccountTokensRead),
                                                    audit: "service_account.token.read", target: "id"),
        "GET /v1/service-accounts/{id}/resources": Rule(access: .permission(.serviceAccountsRead)),
        "DELETE /v1/service-accounts/{id}": Rule(access: .permission(.serviceAccountsRevoke),
                                                 audit: "service_account.revoke", target: "id", changes: true),
        "POST /v1/accounts": Rule(access: .permission(.accountsRequest), audit: "account.request", changes: true),
        "GET /v1/accounts": Rule(access: .permission(.accountsRead), scope: .accountList),
        "GET /v1/accounts/{email}": Rule(access: .permission(.accountsRead), scope: .account(parameter: "email"), target: "email"),
        "GET /v1/accounts/{email}/token": Rule(access: .permission(.tokensRead), scope: .account(parameter: "email"),
                                               audit: "account.token.read", target: "email"),
        "POST /v1/accounts/{email}/refresh": Rule(access: .permission(.tokensRefresh), scope: .account(parameter: "email"),
                                                  audit: "account.refresh", target: "email"),
        "DELETE /v1/accounts/{email}": Rule(access: .permission(.accountsRevoke), audit: "account.revoke", target: "email",
                                            changes: true),
        "GET /v1/events": Rule(access: .permission(.eventsRead)),
        "GET /v1/audit": Rule(access: .permission(.auditRead)),
        "POST /v1/admin/keys/rewrap": Rule(access: .permission(.keysRewrap)),
    ]

    /// A route without a rule: only `admin` may call it.
    static let unlisted = Rule(access: .permission(.adminOnly))

    static func rule(_ method: HTTPMethod, _ pattern: String) -> Rule? {
        rulesByPattern[pattern]?[method == .head ? "GET" : method.rawValue]
    }

    /// ``rules`` by pattern, then method: the key check looks a rule up on every request, and
    /// this needs no `METHOD pattern` string made for it.
    private static let rulesByPattern: [String: [String: Rule]] = {
        var table: [String: [String: Rule]] = [:]
        for (key, rule) in rules {
            guard let space = key.firstIndex(of: " ") else { continue }
            table[String(key[key.index(after: space)...]), default: [:]][String(key[..<space])] = rule
        }
        return table
    }()
}
