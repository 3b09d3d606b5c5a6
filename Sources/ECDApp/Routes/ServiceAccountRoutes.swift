import ECDCore
import ECDHTTP

/// `/v1/service-accounts…`: connect links, and the connected service accounts.
struct ServiceAccountRoutes: Sendable {
    let core: EnterpriseConnect

    private struct ServiceAccountList: Encodable {
        let serviceAccounts: [ServiceAccount]
        enum CodingKeys: String, CodingKey { case serviceAccounts = "service_accounts" }
    }

    private struct ResourceList: Encodable {
        let resources: [CalendarResource]
    }

    func register(in table: inout RouteTable) {
        let core = self.core

        table.deferred(.post, "/v1/service-accounts/connect-links") { request, _ in
            let options = try Self.connectLinkOptions(request.body)
            let link = try await core.createConnectLink(label: options.label, scope: options.scope,
                                                  delegatedScope: options.delegatedScope)
            return try .json(.created, link)
        }
        table.deferred(.get, "/v1/service-accounts") { _, _ in
            try .json(.ok, ServiceAccountList(serviceAccounts: try await core.serviceAccounts()))
        }
        table.deferred(.get, "/v1/service-accounts/{id}") { _, context in
            try .json(.ok, try await core.serviceAccount(id: try context.parameter("id")))
        }
        table.deferred(.get, "/v1/service-accounts/{id}/token") { request, context in
            let minValidity = try TokenQuery.minValidity(request)
            let token = try await core.serviceAccountToken(id: try context.parameter("id"), minValidity: minValidity)
            return AccountRoutes.tokenResponse(token)
        }
        table.deferred(.get, "/v1/service-accounts/{id}/resources") { _, context in
            try .json(.ok, ResourceList(resources: try await core.resources(serviceAccountID: try context.parameter("id"))))
        }
        table.deferred(.delete, "/v1/service-accounts/{id}") { request, context in
            let query = QueryParameters(request)
            try query.rejectUnknown(allowing: ["local_only"])
            return try .json(.ok, try await core.revokeServiceAccount(id: try context.parameter("id"),
                                                                      localOnly: try query.boolean("local_only", default: false)))
        }
    }

    struct ConnectLinkOptions: Equatable {
        var label: String?
        var scope: String?
        var delegatedScope: String?
    }

    /// `{"label"?, "scope"?, "delegated_scope"?}`; an empty body means all defaults.
    static func connectLinkOptions(_ body: [UInt8]) throws(APIError) -> ConnectLinkOptions {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return ConnectLinkOptions() }
        let object = try JSONObjectReader(try BodyJSON.parse(body), path: "")
        try object.rejectUnknown(allowing: ["label", "scope", "delegated_scope"])
        let options = ConnectLinkOptions(label: try object.optionalString("label"),
                                         scope: try object.optionalString("scope"),
                                         delegatedScope: try object.optionalString("delegated_scope"))
        // The label's length and both scopes' form are the core's rules (`createConnectLink`).
        return options
    }
}
