import ECDHTTP
import FoundationEssentials

/// The control endpoint: `/_simulator/...`, JSON in and out, test-only (no authentication; it
/// returns raw tokens, codes and request bodies). Each route mirrors a `SimulatorControl` method.
///
/// | route | body | does |
/// |---|---|---|
/// | `GET /_simulator/issued` | | `{"access_tokens":[…],"refresh_tokens":[…],"codes":[…]}` |
/// | `GET /_simulator/callbacks` | | `{"callbacks":[{"email","callback_url","state","body","code","error","signature","attempts":[{"status"}],"delivered","dropped","finished"}]}` |
/// | `GET /_simulator/calls?endpoint=token` | | `{"calls":[{"endpoint","method","target","body","authorization","status","received_at"}]}` |
/// | `GET /_simulator/faults` | | `{"faults":[{"endpoint","fault","count"}]}` |
/// | `POST /_simulator/faults` | `{"endpoint","fault":"500"\|"429"\|"429@S"\|"slow@MS"\|"invalid_client"\|"402","count"?}` | queue a fault |
/// | `DELETE /_simulator/faults` | | clear faults |
/// | `POST /_simulator/refused-emails` | `{"email"}` | refuse with `unable_to_grant_scope` |
/// | `DELETE /_simulator/refused-emails/{email}` | | stop refusing |
/// | `POST /_simulator/dropped-callbacks` | `{"email"}` | never send that mailbox's callbacks |
/// | `DELETE /_simulator/dropped-callbacks/{email}` | | send them again |
/// | `POST /_simulator/stateless-callbacks` | `{"email"}` | that mailbox's callbacks carry no `state` |
/// | `POST /_simulator/free-busy-only` | `{"email"}` | that mailbox grants `free_busy` only |
/// | `POST /_simulator/callback-signing` | `{"enabled":true}` | toggle `Cronofy-HMAC-SHA256` |
/// | `POST /_simulator/auto-approve` | `{"enabled":true}` | approve every authorize request at once |
/// | `POST /_simulator/next-service-account` | `{"email","domain","provider"}` | identity of the next approval |
/// | `POST /_simulator/revoke` | `{"refresh_token"}` or `{"sub"}` or `{"email"}` | `{"revoked":bool}` |
/// | `POST /_simulator/expire-access-tokens` | | every access token expires now |
///
/// Answers `200 {"ok":true}` unless stated; a bad body is `400 {"error":{"code","message"}}`.
struct SimulatorControlRoutes: Sendable {
    let control: SimulatorControl

    func register(on router: inout Router) {
        router.get("/_simulator/issued") { _, _ in
            let issued = control.issued()
            return .simJSON(.ok, .object([
                ("access_tokens", .array(issued.accessTokens.map(SimJSON.string))),
                ("refresh_tokens", .array(issued.refreshTokens.map(SimJSON.string))),
                ("codes", .array(issued.codes.map(SimJSON.string))),
            ]))
        }
        router.get("/_simulator/callbacks") { _, _ in
            .simJSON(.ok, .object([("callbacks", .array(control.callbacks().map(Self.json)))]))
        }
        router.get("/_simulator/calls") { request, _ in
            var endpoint = SimulatorEndpoint.any
            if let name = request.query("endpoint") {
                guard let named = SimulatorEndpoint(rawValue: name) else { throw HTTPError.badRequest("unknown endpoint") }
                endpoint = named
            }
            return .simJSON(.ok, .object([("calls", .array(control.calls(endpoint).map(Self.json)))]))
        }
        router.get("/_simulator/faults") { _, _ in
            .simJSON(.ok, .object([("faults", .array(control.pendingFaults().map(Self.json)))]))
        }
        router.post("/_simulator/faults") { request, _ in
            let fields = try Self.fields(request)
            let text = "\(fields["endpoint"] ?? ""):\(fields["fault"] ?? ""):\(fields["count"] ?? "1")"
            do { control.inject(try SimulatorFaultRule(parsing: text)) } catch {
                throw HTTPError.badRequest("expected {\"endpoint\",\"fault\":\"500|429|429@SECONDS|slow@MILLISECONDS|invalid_client|402\",\"count\"}")
            }
            return Self.ok
        }
        router.delete("/_simulator/faults") { _, _ in
            control.clearFaults()
            return Self.ok
        }
        router.post("/_simulator/refused-emails") { request, _ in
            control.refuse(email: try Self.required("email", in: try Self.fields(request)))
            return Self.ok
        }
        router.delete("/_simulator/refused-emails/{email}") { _, context in
            control.allow(email: try context.parameter("email"))
            return Self.ok
        }
        router.post("/_simulator/dropped-callbacks") { request, _ in
            control.dropCallbacks(email: try Self.required("email", in: try Self.fields(request)))
            return Self.ok
        }
        router.delete("/_simulator/dropped-callbacks/{email}") { _, context in
            control.resumeCallbacks(email: try context.parameter("email"))
            return Self.ok
        }
        router.post("/_simulator/stateless-callbacks") { request, _ in
            control.omitState(email: try Self.required("email", in: try Self.fields(request)))
            return Self.ok
        }
        router.post("/_simulator/free-busy-only") { request, _ in
            control.freeBusyOnly(email: try Self.required("email", in: try Self.fields(request)))
            return Self.ok
        }
        router.post("/_simulator/callback-signing") { request, _ in
            guard case .bool(let enabled)? = (try Self.body(request).object)?["enabled"] else {
                throw HTTPError.badRequest("expected {\"enabled\": true|false}")
            }
            control.setCallbackSigning(enabled)
            return Self.ok
        }
        router.post("/_simulator/auto-approve") { request, _ in
            guard case .bool(let enabled)? = (try Self.body(request).object)?["enabled"] else {
                throw HTTPError.badRequest("expected {\"enabled\": true|false}")
            }
            control.setAutoApprove(enabled)
            return Self.ok
        }
        router.post("/_simulator/next-service-account") { request, _ in
            let fields = try Self.fields(request)
            control.setNextServiceAccount(ServiceAccountIdentity(
                email: try Self.required("email", in: fields), domain: try Self.required("domain", in: fields),
                provider: try Self.required("provider", in: fields)))
            return Self.ok
        }
        router.post("/_simulator/revoke") { request, _ in
            let fields = try Self.fields(request)
            let revoked: Bool
            if let token = fields["refresh_token"] {
                revoked = control.revokeRefreshToken(token)
            } else if let sub = fields["sub"] {
                revoked = control.revokeAuthorization(sub: sub)
            } else if let email = fields["email"] {
                revoked = control.revokeAuthorization(email: email)
            } else {
                throw HTTPError.badRequest("expected {\"refresh_token\"}, {\"sub\"} or {\"email\"}")
            }
            return .simJSON(.ok, .object([("revoked", .bool(revoked))]))
        }
        router.post("/_simulator/expire-access-tokens") { _, _ in
            control.expireAccessTokens()
            return Self.ok
        }
    }

    static let ok = HTTPResponse.simJSON(.ok, .object([("ok", .bool(true))]))

    static func body(_ request: HTTPRequest) throws -> RequestBody {
        guard let body = try? RequestBody.parse(request) else { throw HTTPError.badRequest("the body must be JSON") }
        return body
    }

    static func fields(_ request: HTTPRequest) throws -> [String: String] { try body(request).fields }

    static func required(_ name: String, in fields: [String: String]) throws -> String {
        guard let value = fields[name], !value.isEmpty else { throw HTTPError.badRequest("\(name) is required") }
        return value
    }

    static func json(_ callback: SimulatorCallback) -> SimJSON {
        .object([
            ("email", .string(callback.email)),
            ("callback_url", .string(callback.callbackURL)),
            ("state", .optional(callback.state)),
            ("body", .string(callback.body)),
            ("code", .optional(callback.code)),
            ("error", .optional(callback.error)),
            ("signature", .optional(callback.signature)),
            ("attempts", .array(callback.attempts.map { .object([("status", $0.status.map(SimJSON.int) ?? .null)]) })),
            ("delivered", .bool(callback.delivered)),
            ("dropped", .bool(callback.dropped)),
            ("finished", .bool(callback.finished)),
        ])
    }

    /// RFC 3339 in UTC with milliseconds (`2026-01-31T12:00:00.123Z`).
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    static func json(_ call: SimulatorCall) -> SimJSON {
        .object([
            ("endpoint", .string(call.endpoint.rawValue)),
            ("method", .string(call.method)),
            ("target", .string(call.target)),
            ("body", .string(call.body)),
            ("authorization", .optional(call.authorization)),
            ("status", .int(call.status)),
            ("received_at", .string(Self.timestamp(call.receivedAt))),
        ])
    }

    static func json(_ rule: SimulatorFaultRule) -> SimJSON {
        let fault: String
        switch rule.fault {
        case .serverError: fault = "500"
        case .rateLimited(let seconds): fault = "429@\(seconds)"
        case .slow(let delay):
            let ms = delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000
            fault = "slow@\(ms)"
        case .invalidClient: fault = "invalid_client"
        case .paymentRequired: fault = "402"
        }
        return .object([("endpoint", .string(rule.endpoint.rawValue)), ("fault", .string(fault)), ("count", .int(rule.count))])
    }
}
