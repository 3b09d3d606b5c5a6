import ECDCrypto

/// What a key may do (README "Roles"). `admin` may do everything; the others one job each, so a
/// leaked metrics key reads no token and a service's token key cannot revoke anyone.
public enum APIKeyRole: String, Sendable, CaseIterable {
    case admin, tokens, metrics

    /// The permissions the role holds; `admin` holds every one. Made once: every request asks
    /// (building the admin's set per call was 6 % of the token route's samples).
    var permissions: Set<Permission> {
        switch self {
        case .admin: Self.adminPermissions
        case .tokens: Self.tokenPermissions
        case .metrics: Self.metricsPermissions
        }
    }

    private static let adminPermissions = Set(Permission.allCases)
    private static let tokenPermissions: Set<Permission> = [.accountsRead, .tokensRead, .tokensRefresh]
    private static let metricsPermissions: Set<Permission> = [.metricsRead]
}

/// One configured key: a name for logs and the audit trail, a role, optional scoping, and the
/// SHA-256 of the key (the only form a request is checked against).
public struct APIKey: Sendable {
    /// `#1`, `#2`… for a plain string (its position, as the access log always named keys).
    public let name: String
    public let role: APIKeyRole
    /// Service-account ids the key is limited to (`tokens` only); empty with `domains` empty: all.
    public let serviceAccounts: Set<String>
    /// Lowercased email domains the key is limited to (`tokens` only).
    public let domains: Set<String>
    let digest: [UInt8]
    /// The key itself, when it was configured (not for `key_sha256`). Never logged: only
    /// `check-config --show-secrets` prints it.
    let plain: [UInt8]?
    /// How it was configured, for `check-config` (`key`, `key_file`, `key_sha256`, or a plain string).
    let form: Form

    enum Form: Sendable, Equatable {
        case string, key, keyFile(String), sha256
    }

    init(name: String, role: APIKeyRole, plain: String, form: Form = .string,
         serviceAccounts: Set<String> = [], domains: Set<String> = []) {
        let bytes = Array(plain.utf8)
        self.init(name: name, role: role, digest: SHA256Digest.hash(bytes), plain: bytes, form: form,
                  serviceAccounts: serviceAccounts, domains: domains)
    }

    init(name: String, role: APIKeyRole, digest: [UInt8], plain: [UInt8]?, form: Form,
         serviceAccounts: Set<String>, domains: Set<String>) {
        self.name = name
        self.role = role
        self.digest = digest
        self.plain = plain
        self.form = form
        self.serviceAccounts = serviceAccounts
        self.domains = Set(domains.map { $0.lowercased() })
    }

    /// The key may use `permission` at all (scoping aside).
    func allows(_ permission: Permission) -> Bool { role.permissions.contains(permission) }

    /// The key is limited to some accounts (a `tokens` key listing service accounts or domains).
    var isScoped: Bool { !serviceAccounts.isEmpty || !domains.isEmpty }

    /// Whether an account of `email`, under `serviceAccountID`, is within the key's scope.
    func covers(email: String, serviceAccountID: String?) -> Bool {
        guard isScoped else { return true }
        if let at = email.lastIndex(of: "@"), domains.contains(email[email.index(after: at)...].lowercased()) { return true }
        if let serviceAccountID, serviceAccounts.contains(serviceAccountID) { return true }
        return false
    }

    /// The email's domain alone decides (no account lookup needed).
    func coversByDomain(_ email: String) -> Bool {
        guard let at = email.lastIndex(of: "@") else { return false }
        return domains.contains(email[email.index(after: at)...].lowercased())
    }
}

/// A permission a route needs (README "Roles"); its raw value is what a 403 names.
public enum Permission: String, Sendable, CaseIterable {
    case metricsRead = "metrics:read"
    case accountsRead = "accounts:read"
    case accountsRequest = "accounts:request"
    case accountsRevoke = "accounts:revoke"
    case tokensRead = "tokens:read"
    case tokensRefresh = "tokens:refresh"
    case serviceAccountsRead = "service_accounts:read"
    case serviceAccountsConnect = "service_accounts:connect"
    case serviceAccountsRevoke = "service_accounts:revoke"
    case serviceAccountTokensRead = "service_account_tokens:read"
    case eventsRead = "events:read"
    case auditRead = "audit:read"
    case keysRewrap = "keys:rewrap"
    /// What a route without a rule needs: only `admin` holds it.
    case adminOnly = "admin"
}
