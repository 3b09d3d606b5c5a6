import FoundationEssentials

public enum ServiceAccountStatus: String, Sendable, Codable, CaseIterable {
    case active
    case reauthorizationRequired = "reauthorization_required"
    case revoked
}

/// A connected Enterprise Connect service account (api-contract.md §4 "Service account object").
public struct ServiceAccount: Sendable, Equatable, Codable {
    public var id: String
    public var email: String?
    public var domain: String?
    public var provider: String?
    public var label: String?
    public var status: ServiceAccountStatus
    public var scope: String
    public var delegatedScope: String
    public var connectedAt: Date
    public var updatedAt: Date
    /// `pending` or `local_only`, as for `Account.revocation`.
    public var revocation: String?

    public init(id: String, email: String?, domain: String?, provider: String?, label: String?,
                status: ServiceAccountStatus, scope: String, delegatedScope: String,
                connectedAt: Date, updatedAt: Date, revocation: String? = nil) {
        self.id = id
        self.email = email
        self.domain = domain
        self.provider = provider
        self.label = label
        self.status = status
        self.scope = scope
        self.delegatedScope = delegatedScope
        self.connectedAt = connectedAt
        self.updatedAt = updatedAt
        self.revocation = revocation
    }

    enum CodingKeys: String, CodingKey {
        case id, email, domain, provider, label, status, scope, revocation
        case delegatedScope = "delegated_scope"
        case connectedAt = "connected_at"
        case updatedAt = "updated_at"
    }

    /// Absent values are written as `null` so every object has the same keys.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(email, forKey: .email)
        try container.encode(domain, forKey: .domain)
        try container.encode(provider, forKey: .provider)
        try container.encode(label, forKey: .label)
        try container.encode(status, forKey: .status)
        try container.encode(scope, forKey: .scope)
        try container.encode(delegatedScope, forKey: .delegatedScope)
        try container.encode(connectedAt, forKey: .connectedAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(revocation, forKey: .revocation)
    }
}
