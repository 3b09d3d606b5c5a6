import ECDHTTP

/// `GET /v1/userinfo` and `GET /v1/resources`.
extension SimulatorRoutes {
    func userInfo(_ request: HTTPRequest) -> HTTPResponse {
        guard let grant = bearerGrant(request) else { return Self.unauthorized() }
        switch grant.kind {
        case .serviceAccount(let identity, let delegatedScope):
            // The nested shape of the current API (reference §9), `domain` included.
            let body = SimJSON.object([
                ("sub", .string(grant.sub)),
                ("cronofy.type", .string("service_account")),
                ("cronofy.data", .object([
                    ("service_account", .object([
                        ("provider_name", .string(identity.provider)),
                        ("domain", .string(identity.domain)),
                    ])),
                    ("authorization", .object([
                        ("scope", .string(grant.scope)),
                        ("status", .string("active")),
                        ("delegated_scope", .string(delegatedScope)),
                    ])),
                ])),
                ("email", .string(identity.email)),
            ])
            return .simJSON(.ok, body)
        case .account(let email, _, let profileID, let provider):
            let calendarID = "cal_" + profileID.dropFirst(4) + "_primary"
            let body = SimJSON.object([
                ("sub", .string(grant.sub)),
                ("email", .string(email)),
                ("name", .string(email)),
                ("zoneinfo", .string("Etc/UTC")),
                ("cronofy.type", .string("account")),
                ("cronofy.data", .object([
                    ("authorization", .object([
                        ("scope", .string(grant.scope)),
                        ("status", .string("active")),
                    ])),
                    ("profiles", .array([
                        .object([
                            ("provider_name", .string(provider)),
                            ("profile_id", .string(profileID)),
                            ("profile_name", .string(email)),
                            ("profile_connected", .bool(true)),
                            ("profile_initial_sync_required", .bool(false)),
                            ("profile_calendars", .array([
                                .object([
                                    ("calendar_id", .string(calendarID)),
                                    ("calendar_name", .string("Calendar")),
                                    ("calendar_readonly", .bool(false)),
                                    ("calendar_deleted", .bool(false)),
                                    ("calendar_primary", .bool(true)),
                                ])
                            ])),
                        ])
                    ])),
                ])),
            ])
            return .simJSON(.ok, body)
        }
    }

    /// Needs a service-account token whose scope includes `service_account/resources/manage`.
    func resources(_ request: HTTPRequest) -> HTTPResponse {
        guard let grant = bearerGrant(request) else { return Self.unauthorized() }
        guard case .serviceAccount(let identity, _) = grant.kind,
            grant.scope.split(separator: " ").contains("service_account/resources/manage")
        else { return Self.forbidden() }
        let resources = store.withSettings { $0.resources(domain: identity.domain) }
        let body = SimJSON.object([
            ("resources", .array(resources.map { .object([("email", .string($0.email)), ("name", .string($0.name))]) }))
        ])
        return .simJSON(.ok, body)
    }

    func bearerGrant(_ request: HTTPRequest) -> GrantRecord? {
        let authorization = request.headers["Authorization"]
        return try? store.withState { state, now throws(SimulatorState.BearerFailure) in
            try state.authenticate(authorization: authorization, now: now)
        }
    }
}
