import ECDHTTP
import Foundation

extension AppConfiguration {
    /// The marker printed in place of a secret.
    public static let redactedMarker = "<redacted>"

    /// Every key of api-contract.md §2 with its effective value and where it came from, one per line
    /// (`cronofy.data_center = "us"  # default`), in the contract's order. With `redacted` (what
    /// `ecd check-config` prints) every secret is `<redacted>`: the client secret, each API key,
    /// each encryption key, and credentials or secret query values inside URLs.
    public func effectiveDescription(redacted: Bool = true) -> String {
        var lines: [String] = []
        let header = sourceFile.map { "configuration file: \($0)" } ?? "configuration file: none (environment and defaults)"
        lines.append("# " + header)
        for (key, value) in renderedValues(redacted: redacted) {
            let origin = origins[key] ?? .defaultValue
            lines.append("\(key) = \(value)  # \(origin)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Key → JSON-ish rendering of the effective value, in table order.
    private func renderedValues(redacted: Bool) -> [(String, String)] {
        func quote(_ text: String) -> String { JSONString.quote(text) }
        func secret(_ text: String) -> String { redacted ? Self.redactedMarker : quote(text) }
        func url(_ value: URL?) -> String {
            guard let value else { return "null" }
            return quote(redacted ? SecretRedaction.redactURL(value.absoluteString) : value.absoluteString)
        }
        func list(_ items: [String]) -> String { "[" + items.joined(separator: ", ") + "]" }
        let apiKeys = internalListener.apiKeys.keys.map { $0.configurationText(redacted: redacted) }
        let keyring = storage.encryptionKeys.map { key in
            let material = redacted ? quote(Self.redactedMarker) : quote(Data(key.bytes).base64EncodedString())
            return "{\"id\": \(quote(key.id)), \"key\": \(material)}"
        }
        let values: [String: String] = [
            "cronofy.client_id": quote(cronofy.clientID),
            "cronofy.client_secret": cronofy.clientSecret.isEmpty ? "\"\"" : secret(cronofy.clientSecret),
            "cronofy.data_center": quote(cronofy.dataCenter.rawValue),
            "cronofy.api_url": url(cronofy.apiURL),
            "cronofy.app_url": url(cronofy.appURL),
            "cronofy.require_callback_signature": String(cronofy.requireCallbackSignature),
            "cronofy.application_name": cronofy.applicationName.map(quote) ?? "null",
            "server.drain_seconds": String(server.drainSeconds),
            "public.listen": quote(publicListener.listen.description),
            "public.base_url": url(publicListener.baseURL),
            "public.trusted_proxies": list(publicListener.trustedProxies.networks.map { quote($0.description) }),
            "internal.listen": quote(internalListener.listen.description),
            "internal.api_keys": list(apiKeys),
            "internal.allow_remote": String(internalListener.allowRemote),
            "internal.open_probes": String(internalListener.openProbes),
            "storage.driver": quote(storage.driver.rawValue),
            "storage.path": storage.driver == .sqlite ? quote(storage.path) : "null",
            "storage.postgres.url": storage.postgres.map { quote(redacted ? $0.url.redacted : $0.url.url) } ?? "null",
            "storage.postgres.pool_size": storage.postgres.map { String($0.poolSize) } ?? "null",
            "storage.postgres.lease_seconds": storage.postgres.map { String($0.leaseSeconds) } ?? "null",
            "storage.encryption_keys": list(keyring),
            "service_account.scope": quote(serviceAccount.scope),
            "service_account.delegated_scope": quote(serviceAccount.delegatedScope),
            "accounts.default_scope": quote(accounts.defaultScope),
            "accounts.callback_timeout_seconds": String(accounts.callbackTimeoutSeconds),
            "accounts.reauthorize_interval_seconds": String(accounts.reauthorizeIntervalSeconds),
            "accounts.callback_attempts": String(accounts.callbackAttempts),
            "refresh.lead_seconds": String(refresh.leadSeconds),
            "refresh.cronofy_requests_per_minute": String(refresh.cronofyRequestsPerMinute),
            "events.webhook_url": url(events.webhookURL),
            "events.retention_days": String(events.retentionDays),
            "events.webhook_secret": events.webhookSecrets.count == 1 ? secret(events.webhookSecrets[0]) : "null",
            "events.webhook_secrets": events.webhookSecrets.count > 1 ? list(events.webhookSecrets.map(secret)) : "null",
            "audit.path": quote(audit.effectivePath(storagePath: storage.path)),
            "log.level": quote(log.level.rawValue),
            "log.format": quote(log.format.rawValue),
        ]
        return ConfigurationKey.all.map { ($0.name, values[$0.name] ?? "null") }
    }
}

extension APIKey {
    /// The entry as `check-config` prints it: a plain key as a string, a named key as its object;
    /// the key itself only when not `redacted` (a `key_file` names its file, a digest is shown).
    func configurationText(redacted: Bool) -> String {
        func quote(_ text: String) -> String { JSONString.quote(text) }
        let keyText = redacted ? quote(AppConfiguration.redactedMarker) : quote(String(decoding: plain ?? [], as: UTF8.self))
        var fields = ["\"name\": \(quote(name))", "\"role\": \(quote(role.rawValue))"]
        switch form {
        case .string: return keyText
        case .key: fields.append("\"key\": \(keyText)")
        case .keyFile(let path): fields.append("\"key_file\": \(quote(path))")
        case .sha256: fields.append("\"key_sha256\": \(quote(digest.map { String($0, radix: 16).leftPadded(2) }.joined()))")
        }
        if !serviceAccounts.isEmpty { fields.append("\"service_accounts\": [\(serviceAccounts.sorted().map(quote).joined(separator: ", "))]") }
        if !domains.isEmpty { fields.append("\"domains\": [\(domains.sorted().map(quote).joined(separator: ", "))]") }
        return "{" + fields.joined(separator: ", ") + "}"
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
