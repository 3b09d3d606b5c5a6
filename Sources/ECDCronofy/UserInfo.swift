import FoundationEssentials

/// `GET /v1/userinfo`, flattened. Two service-account shapes exist: the current nested one
/// (`cronofy.data.service_account` / `cronofy.data.authorization`) and an older flat one
/// (`cronofy.service_account.domain`, `cronofy.service_account.email`); both decode here.
public struct UserInfo: Sendable, Equatable {
    public var sub: String
    public var email: String?
    /// `cronofy.type`: "service_account", "account", "application_calendar", ...
    public var type: String?
    public var providerName: String?
    public var domain: String?
    public var scope: String?
    public var delegatedScope: String?
    public var status: String?

    public init(sub: String, email: String? = nil, type: String? = nil, providerName: String? = nil,
                domain: String? = nil, scope: String? = nil, delegatedScope: String? = nil, status: String? = nil) {
        self.sub = sub
        self.email = email
        self.type = type
        self.providerName = providerName
        self.domain = domain
        self.scope = scope
        self.delegatedScope = delegatedScope
        self.status = status
    }
}

extension UserInfo: Decodable {
    private enum Keys: String, CodingKey {
        case sub, email
        case type = "cronofy.type"
        case data = "cronofy.data"
        case flatDomain = "cronofy.service_account.domain"
        case flatEmail = "cronofy.service_account.email"
        case flatProvider = "cronofy.service_account.provider_name"
    }

    private struct DataBlock: Decodable {
        var serviceAccount: ServiceAccountBlock?
        var authorization: AuthorizationBlock?
        var profiles: [ProfileBlock]?
        enum CodingKeys: String, CodingKey {
            case serviceAccount = "service_account", authorization, profiles
        }
    }

    private struct ServiceAccountBlock: Decodable {
        var providerName: String?
        var domain: String?
        var email: String?
        enum CodingKeys: String, CodingKey { case providerName = "provider_name", domain, email }
    }

    private struct AuthorizationBlock: Decodable {
        var scope: String?
        var status: String?
        var delegatedScope: String?
        enum CodingKeys: String, CodingKey { case scope, status, delegatedScope = "delegated_scope" }
    }

    private struct ProfileBlock: Decodable {
        var providerName: String?
        enum CodingKeys: String, CodingKey { case providerName = "provider_name" }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        sub = try c.decode(String.self, forKey: .sub)
        type = try? c.decodeIfPresent(String.self, forKey: .type)
        // A malformed optional block must not cost us `sub`, so sub-blocks decode with `try?`.
        let data = (try? c.decodeIfPresent(DataBlock.self, forKey: .data)) ?? nil
        let flatEmail = (try? c.decodeIfPresent(String.self, forKey: .flatEmail)) ?? nil
        email = (try? c.decodeIfPresent(String.self, forKey: .email)) ?? data?.serviceAccount?.email ?? flatEmail
        providerName = data?.serviceAccount?.providerName
            ?? ((try? c.decodeIfPresent(String.self, forKey: .flatProvider)) ?? nil)
            ?? data?.profiles?.first?.providerName
        domain = data?.serviceAccount?.domain ?? ((try? c.decodeIfPresent(String.self, forKey: .flatDomain)) ?? nil)
        scope = data?.authorization?.scope
        delegatedScope = data?.authorization?.delegatedScope
        status = data?.authorization?.status
    }
}
