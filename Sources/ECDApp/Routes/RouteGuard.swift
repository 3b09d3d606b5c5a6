import ECDCore
import ECDHTTP
import Foundation
import Logging

/// Wraps each internal route's handler with its ``AccessPolicy`` rule: the permission (checked
/// on the head already, by ``APIKeyAuthentication``; again here for a route without a rule), the
/// scope of a limited `tokens` key (which needs the route's parameters, known only once the
/// router matched), and the audit lines: a read's written before the answer leaves (a failed
/// write turns the answer into a 503); a change's request written before it is acted on (a failed
/// write: 503, nothing done) and its outcome after (``AccessPolicy/Rule/changes``).
struct RouteGuard: Sendable {
    let keys: APIKeyStore
    let audit: AuditLog?
    let openProbes: Bool
    /// Looks up the service account of an account, for a key limited to service accounts.
    let serviceAccountOf: @Sendable (String) async -> String?
    /// The router's error rendering, so an audit line records the status the client gets.
    let render: @Sendable (any Error, HTTPRequest, RequestContext) -> HTTPResponse
    /// Where an outcome line that could not be written is reported (its request line is on record).
    var logger: Logger? = nil

    /// Where a limited key's service accounts and domains are left for a list route (`\n`-separated).
    static let scopeServiceAccounts = "scope_service_accounts"
    static let scopeDomains = "scope_domains"

    func isOpen(_ rule: AccessPolicy.Rule) -> Bool {
        rule.access == .open || (rule.access == .probe && openProbes)
    }

    func wrap(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping HTTPHandler) -> HTTPHandler {
        let rule = AccessPolicy.rule(method, pattern) ?? AccessPolicy.unlisted
        if isOpen(rule) { return handler }
        let guardian = self
        return { request, context in
            // The key check at the head named the key (`principal`); its role and scope are read afresh.
            // The key the head hook matched on this connection, unless the keys were reloaded since.
            guard let name = context.principal,
                  let key = PresentedKeyMemo.key(named: name, in: context, generation: guardian.keys.generation)
                      ?? guardian.keys.key(named: name) else {
                throw APIError.unauthorized()
            }
            if let permission = rule.permission, !key.allows(permission) {
                throw guardian.forbid(permission, key: key, rule: rule, pattern: pattern, request: request, context: context)
            }
            var context = context
            switch rule.scope {
            case .none:
                break
            case .accountList where key.isScoped:
                context.values[Self.scopeServiceAccounts] = key.serviceAccounts.sorted().joined(separator: "\n")
                context.values[Self.scopeDomains] = key.domains.sorted().joined(separator: "\n")
            case .accountList:
                break
            case .account(let parameter) where key.isScoped:
                let email = context.parameters[parameter] ?? ""
                if !key.coversByDomain(email) {
                    // Limited by service account: the account's own says (a database read, so off
                    // the connection's thread). An unknown account is refused like a foreign one,
                    // so a limited key cannot learn which accounts exist.
                    let scoped = context
                    return .deferred {
                        guard key.covers(email: email, serviceAccountID: await guardian.serviceAccountOf(email)) else {
                            throw guardian.forbid(rule.permission ?? .adminOnly,
                                                  key: key, rule: rule, pattern: pattern, request: request, context: scoped,
                                                  detail: "for \(email): it is limited to \(Self.describeScope(key))")
                        }
                        if let refused = guardian.recordRequest(rule, key: key, request: request, context: scoped) {
                            return refused
                        }
                        return try await guardian.audited(rule, key: key, request: request, context: scoped) {
                            try await Self.settle(handler(request, scoped))
                        }
                    }
                }
            case .account:
                break
            }
            guard rule.audit != nil else { return try handler(request, context) }
            let scoped = context
            if let refused = guardian.recordRequest(rule, key: key, request: request, context: scoped) {
                return .response(refused)
            }
            switch Result(catching: { try handler(request, scoped) }) {
            case .success(.response(let response)):
                return .response(guardian.recordOrRefuse(rule, key: key, request: request, context: scoped, response: response,
                                                         onTurn: true))
            case .success(.deferred(let work)):
                return .deferred {
                    try await guardian.audited(rule, key: key, request: request, context: scoped) { try await work() }
                }
            case .failure(let error):
                return .response(guardian.recordOrRefuse(rule, key: key, request: request, context: scoped,
                                                         response: guardian.render(error, request, scoped), onTurn: true))
            }
        }
    }

    private static func settle(_ result: HTTPResult) async throws -> HTTPResponse {
        switch result {
        case .response(let response): response
        case .deferred(let work): try await work()
        }
    }

    private func audited(_ rule: AccessPolicy.Rule, key: APIKey, request: HTTPRequest, context: RequestContext,
                         _ work: () async throws -> HTTPResponse) async throws -> HTTPResponse {
        let response: HTTPResponse
        do {
            response = try await work()
        } catch {
            response = render(error, request, context)
        }
        guard rule.audit != nil else { return response }
        return recordOrRefuse(rule, key: key, request: request, context: context, response: response)
    }

    /// A change's request line(s), before it is acted on; the 503 to answer instead when they
    /// cannot be written (nil: go on).
    private func recordRequest(_ rule: AccessPolicy.Rule, key: APIKey, request: HTTPRequest,
                               context: RequestContext) -> HTTPResponse? {
        guard rule.changes, let action = rule.audit, let audit else { return nil }
        let entries = Self.targets(rule, request: request, context: context).map { target in
            AuditEntry(action: action, key: key.name, target: target, status: nil,
                       requestID: context.requestID, client: context.peerAddress ?? "unix")
        }
        do {
            try audit.record(entries)
            return nil
        } catch {
            logger?.error("audit log write failed; the request was refused", metadata: ["error": "\(error)", "action": "\(action)"])
            return APIError.auditUnavailable().response
        }
    }

    /// Writes the audit line(s) of an answered call. A read's answer becomes a 503 when that
    /// fails; a change's stands (it happened, and its request line is on record) and the failure
    /// goes to ecd's log. A read answered on its loop's thread (`onTurn`, never deferred work)
    /// stages its line on the loop's turn instead, which holds the answer until the turn's lines
    /// are written with one write (``AuditTurnBatch``, the same rule).
    private func recordOrRefuse(_ rule: AccessPolicy.Rule, key: APIKey, request: HTTPRequest, context: RequestContext,
                                response: HTTPResponse, onTurn: Bool = false) -> HTTPResponse {
        guard let action = rule.audit, let audit else { return response }
        if onTurn, !rule.changes, let turn = context.turn {
            // A read names one target: its line is made and staged with no array around it.
            let entry = AuditEntry(action: action, key: key.name, target: rule.target.flatMap { context.parameters[$0] },
                                   status: response.status.code, requestID: context.requestID,
                                   client: context.peerAddress ?? "unix")
            AuditTurnBatch.stage(entry, on: turn, log: audit, logger: logger)
            return response
        }
        let targets = Self.targets(rule, request: request, context: context)
        let entries = targets.map { target in
            AuditEntry(action: action, key: key.name, target: target, status: response.status.code,
                       requestID: context.requestID, client: context.peerAddress ?? "unix")
        }
        do {
            try audit.record(entries)
            return response
        } catch {
            if rule.changes {
                logger?.error("audit log write failed after the change was made; its request line is on record",
                              metadata: ["error": "\(error)", "action": "\(action)", "status": "\(response.status.code)",
                                         "request_id": "\(context.requestID)"])
                return response
            }
            logger?.error("audit log write failed; the answer was withheld", metadata: ["error": "\(error)", "action": "\(action)"])
            return APIError.auditUnavailable().response
        }
    }

    /// The audit line of a forbidden call, and the 403 (or the 503 when the line cannot be written).
    func forbid(_ permission: Permission, key: APIKey, rule: AccessPolicy.Rule, pattern: String, request: HTTPRequest,
                context: RequestContext, detail: String? = nil) -> APIError {
        let action = rule.audit ?? "\(request.method == .head ? "GET" : request.method.rawValue) \(pattern)"
        // On the head the router has not matched yet: the target is read from the path itself.
        let target = rule.target.flatMap { context.parameters[$0] ?? Self.parameter($0, of: pattern, in: request.rawPath) }
        if let audit {
            let entry = AuditEntry(action: action, key: key.name, target: target, status: 403, permission: permission.rawValue,
                                   requestID: context.requestID, client: context.peerAddress ?? "unix")
            do { try audit.record([entry]) } catch { return APIError.auditUnavailable() }
        }
        return APIError.forbidden(permission, key: key, detail: detail)
    }

    /// The emails of an account request (one line each), else the route's target parameter.
    private static func targets(_ rule: AccessPolicy.Rule, request: HTTPRequest, context: RequestContext) -> [String?] {
        if rule.audit == "account.request" {
            let emails = (try? AccountRoutes.accountRequests(request.body))?.entries.map(\.email).filter { !$0.isEmpty } ?? []
            return emails.isEmpty ? [nil] : emails
        }
        return [rule.target.flatMap { context.parameters[$0] }]
    }

    /// `{name}` of `pattern` in `rawPath`, percent-decoded (as the router would give it).
    static func parameter(_ name: String, of pattern: String, in rawPath: String) -> String? {
        let segments = pattern.split(separator: "/")
        let parts = rawPath.split(separator: "/")
        guard segments.count == parts.count, let index = segments.firstIndex(of: "{\(name)}"[...]) else { return nil }
        return PercentDecoding.decode(parts[index])
    }

    static func describeScope(_ key: APIKey) -> String {
        var parts: [String] = []
        if !key.serviceAccounts.isEmpty { parts.append("service accounts " + key.serviceAccounts.sorted().joined(separator: ", ")) }
        if !key.domains.isEmpty { parts.append("domains " + key.domains.sorted().joined(separator: ", ")) }
        return parts.joined(separator: " and ")
    }
}

/// A limited key's reach, as a list route reads it from the request's context.
struct KeyScope {
    let serviceAccounts: Set<String>
    let domains: Set<String>

    /// nil when the key is not limited.
    init?(_ context: RequestContext) {
        guard let accounts = context.values[RouteGuard.scopeServiceAccounts],
              let domains = context.values[RouteGuard.scopeDomains] else { return nil }
        serviceAccounts = Set(accounts.split(separator: "\n").map(String.init))
        self.domains = Set(domains.split(separator: "\n").map(String.init))
    }

    func covers(_ account: Account) -> Bool {
        if let id = account.serviceAccountID, serviceAccounts.contains(id) { return true }
        guard let at = account.email.lastIndex(of: "@") else { return false }
        return domains.contains(account.email[account.email.index(after: at)...].lowercased())
    }
}
