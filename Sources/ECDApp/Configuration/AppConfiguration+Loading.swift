import ECDCore
import ECDCronofy
import ECDHTTP
import Foundation
import Logging

extension AppConfiguration {
    /// Reads the JSON file (`configPath`, else `Config/ecd.json` when it exists), overlays the
    /// `ECD_*` environment, resolves `_file` keys, applies defaults and validates. Throws one
    /// ``ConfigurationError`` listing every problem, each line naming its key.
    public static func load(
        configPath: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        mode: ConfigurationMode = .serve
    ) throws(ConfigurationError) -> AppConfiguration {
        try load(configPath: configPath, environment: environment, mode: mode, defaultConfigPath: ConfigurationDefaults.configPath)
    }

    /// `defaultConfigPath` is the file read when `configPath` is nil and that file exists.
    static func load(
        configPath: String?, environment: [String: String], mode: ConfigurationMode, defaultConfigPath: String
    ) throws(ConfigurationError) -> AppConfiguration {
        let sources = ConfigurationSources(configPath: configPath, environment: environment, defaultConfigPath: defaultConfigPath)
        var reader = ConfigurationReader(sources: sources)
        var configuration = build(&reader, mode: mode)
        guard reader.problems.isEmpty else {
            throw ConfigurationError(problems: reader.problems)
        }
        configuration.rereadKeyring = { () throws(ConfigurationError) -> [EncryptionKeySetting] in
            try load(configPath: configPath, environment: environment, mode: .keyring,
                     defaultConfigPath: defaultConfigPath).storage.encryptionKeys
        }
        return configuration
    }

    /// Builds from whatever is valid, defaults standing in for bad values; the caller throws when
    /// the reader collected any problem.
    private static func build(_ reader: inout ConfigurationReader, mode: ConfigurationMode) -> AppConfiguration {
        let serve = mode == .serve
        let cronofy = readCronofy(&reader, serve: serve)
        let publicListener = readPublic(&reader, serve: serve)
        let internalListener = readInternal(&reader, serve: serve)
        if publicListener.listen.overlaps(internalListener.listen) {
            reader.problem("internal.listen", "\(internalListener.listen) is the address of public.listen "
                + "(\(publicListener.listen)) too: the two listeners need different addresses")
        }
        let storage = readStorage(&reader, keyringRequired: mode != .database)
        let serviceAccount = ServiceAccountSettings(
            scope: reader.string("service_account.scope") ?? ConfigurationDefaults.serviceAccountScope,
            delegatedScope: reader.string("service_account.delegated_scope") ?? ConfigurationDefaults.delegatedScope)
        let accounts = AccountsSettings(
            defaultScope: reader.string("accounts.default_scope") ?? ConfigurationDefaults.accountScope,
            callbackTimeoutSeconds: reader.integer(
                "accounts.callback_timeout_seconds", minimum: 1, rule: "positive (seconds)") ?? 900,
            reauthorizeIntervalSeconds: reader.integer(
                "accounts.reauthorize_interval_seconds", minimum: 0, rule: "zero or more (seconds)") ?? 3600,
            callbackAttempts: reader.integer("accounts.callback_attempts", minimum: 1, rule: "positive") ?? 3)
        checkScopeCeiling(&reader, accounts.defaultScope, within: serviceAccount.delegatedScope)
        let refresh = RefreshSettings(
            leadSeconds: reader.integer("refresh.lead_seconds", minimum: 0, rule: "zero or more (seconds)") ?? 300,
            cronofyRequestsPerMinute: reader.integer(
                "refresh.cronofy_requests_per_minute", minimum: 1, rule: "positive") ?? 400)
        var retentionDays = reader.integer("events.retention_days", minimum: 1, rule: "positive (days)") ?? 90
        if retentionDays > 36_500 {
            reader.problem("events.retention_days", "must be at most 36500 (days)")
            retentionDays = 90
        }
        var events = EventsSettings(webhookURL: reader.url("events.webhook_url"), retentionDays: retentionDays)
        events.webhookSecrets = readWebhookSecrets(&reader, required: serve && events.webhookURL != nil)
        let audit = AuditSettings(path: reader.string("audit.path"))
        let log = readLog(&reader)
        var server = ServerSettings()
        if let drain = reader.integer("server.drain_seconds", minimum: 1, rule: "positive (seconds)") {
            if drain > ServerSettings.maximumDrainSeconds {
                reader.problem("server.drain_seconds", "must be at most \(ServerSettings.maximumDrainSeconds) (seconds)")
            } else {
                server.drainSeconds = drain
            }
        }
        var sources: [String: ConfigurationOrigin] = [:]
        for key in ConfigurationKey.all { sources[key.name] = reader.sources[key.name]?.origin ?? .defaultValue }
        var configuration = AppConfiguration(
            cronofy: cronofy, publicListener: publicListener, internalListener: internalListener,
            storage: storage, serviceAccount: serviceAccount, accounts: accounts, refresh: refresh,
            events: events, log: log, sourceFile: reader.sources.configFile, origins: sources)
        configuration.server = server
        configuration.audit = audit
        return configuration
    }

    private static func readCronofy(_ reader: inout ConfigurationReader, serve: Bool) -> CronofySettings {
        let clientID = reader.string("cronofy.client_id", required: serve) ?? ""
        let clientSecret = reader.string("cronofy.client_secret", required: serve) ?? ""
        var dataCenter = DataCenter.us
        if let name = reader.string("cronofy.data_center") {
            if let parsed = DataCenter(rawValue: name.lowercased()) {
                dataCenter = parsed
            } else {
                let names = DataCenter.allCases.map(\.rawValue).joined(separator: ", ")
                reader.problem("cronofy.data_center", "must be one of \(names)")
            }
        }
        return CronofySettings(
            clientID: clientID, clientSecret: clientSecret, dataCenter: dataCenter,
            apiURL: reader.url("cronofy.api_url").map(trimTrailingSlash),
            appURL: reader.url("cronofy.app_url").map(trimTrailingSlash),
            requireCallbackSignature: reader.bool("cronofy.require_callback_signature") ?? false,
            applicationName: reader.string("cronofy.application_name"))
    }

    private static func readPublic(_ reader: inout ConfigurationReader, serve: Bool) -> PublicListenerSettings {
        let listen = readListen(&reader, "public.listen", allowUnix: false) ?? .tcp(host: "127.0.0.1", port: 8080)
        var baseURL = reader.url("public.base_url", required: serve)
        if let url = baseURL {
            let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
            if components?.query != nil || components?.fragment != nil || components?.user != nil {
                reader.problem("public.base_url", "must not have a query, fragment or user")
                baseURL = nil
            } else if let path = components?.path, !path.isEmpty, path != "/" {
                // The routes (/connect, /oauth/callback, /callbacks/delegated) and the state cookie's
                // Path are served at the root of the host; a prefix would break both.
                reader.problem("public.base_url", "must not have a path (found \"\(path)\"): ecd serves its routes at the root of the host")
                baseURL = nil
            } else {
                baseURL = trimTrailingSlash(url)
            }
        }
        var proxies = TrustedProxies.loopback
        if let list = reader.stringList("public.trusted_proxies") {
            var networks: [IPNetwork] = []
            for (index, text) in list.enumerated() {
                if let network = IPNetwork(cidr: text) {
                    networks.append(network)
                } else {
                    reader.problem("public.trusted_proxies[\(index)]", "must be an IP address or CIDR block (10.0.0.0/8, ::1/128)")
                }
            }
            proxies = TrustedProxies(networks: networks)
        }
        return PublicListenerSettings(listen: listen, baseURL: baseURL, trustedProxies: proxies)
    }

    private static func readInternal(_ reader: inout ConfigurationReader, serve: Bool) -> InternalListenerSettings {
        let listen = readListen(&reader, "internal.listen", allowUnix: true) ?? .tcp(host: "127.0.0.1", port: 8081)
        let allowRemote = reader.bool("internal.allow_remote") ?? false
        if !listen.isLocal && !allowRemote {
            reader.problem("internal.listen", "\(listen) can be reached from other hosts; listen on a loopback address "
                + "(127.0.0.1, [::1], localhost) or unix:PATH, or set internal.allow_remote to true and put TLS in front")
        }
        var file: String?
        if case .referencedFile(let path, _)? = reader.sources["internal.api_keys"]?.origin { file = path }
        var keys: [APIKey] = []
        if let value = reader.raw("internal.api_keys", required: serve) {
            if case .array(let items) = value, items.isEmpty, serve {
                reader.problem("internal.api_keys", "required (the list is empty)")
            } else if case .array = value {
                let list = file.map { APIKeyStore.parse(value, file: $0) }
                    ?? APIKeyList(value.arrayItems, path: { "internal.api_keys[\($0)]" })
                for (path, message) in list.problems {
                    if file != nil { reader.problem("internal.api_keys_file", "\(path): \(message)") } else { reader.problem(path, message) }
                }
                keys = list.keys
            } else {
                reader.problem("internal.api_keys", "must be a list of keys (strings or {\"name\", \"key\", \"role\"} objects), not \(value.typeName)")
            }
        }
        let openProbes = reader.bool("internal.open_probes") ?? false
        return InternalListenerSettings(listen: listen, apiKeys: APIKeyStore(apiKeys: keys, file: file), allowRemote: allowRemote,
                                        openProbes: openProbes)
    }

    /// `events.webhook_secret` (one secret) or `events.webhook_secrets` (a rotation: the first
    /// signs, all are listed in the header). Required when the webhook is on: a receiver must be
    /// able to tell ecd's deliveries from anyone's.
    private static func readWebhookSecrets(_ reader: inout ConfigurationReader, required: Bool) -> [String] {
        let single = reader.string("events.webhook_secret")
        let list = reader.stringList("events.webhook_secrets")
        if single != nil, list != nil {
            reader.problem("events.webhook_secrets", "set events.webhook_secret or events.webhook_secrets, not both")
            return []
        }
        let secrets = list ?? single.map { [$0] } ?? []
        let key = list == nil ? "events.webhook_secret" : "events.webhook_secrets"
        if secrets.isEmpty {
            if required, !reader.sources.failedKeys.contains("events.webhook_secret"), !reader.sources.failedKeys.contains("events.webhook_secrets") {
                reader.problem("events.webhook_secret", "required when events.webhook_url is set "
                    + "(set events.webhook_secret, events.webhook_secret_file or events.webhook_secrets; e.g. openssl rand -hex 32)")
            }
            return []
        }
        var seen: Set<String> = []
        for (index, secret) in secrets.enumerated() {
            let at = list == nil ? key : "\(key)[\(index)]"
            if secret.count < APIKeyStore.minimumLength {
                reader.problem(at, "too short (\(secret.count) characters): a webhook secret needs at least \(APIKeyStore.minimumLength), e.g. openssl rand -hex 32")
            } else if !seen.insert(secret).inserted {
                reader.problem(at, "listed twice")
            }
        }
        return secrets
    }

    private static func readListen(_ reader: inout ConfigurationReader, _ key: String, allowUnix: Bool) -> ListenAddress? {
        guard let text = reader.string(key) else { return nil }
        do {
            return try ListenAddress(parsing: text, allowUnix: allowUnix)
        } catch {
            reader.problem(key, error.reason)
            return nil
        }
    }

    static func readKeyring(_ reader: inout ConfigurationReader, required: Bool) -> [EncryptionKeySetting] {
        let key = "storage.encryption_keys"
        guard let value = reader.raw(key, required: required) else { return [] }
        guard case .array(let items) = value else {
            reader.problem(key, "must be a list of {\"id\", \"key\"} objects, not \(value.typeName)")
            return []
        }
        if items.isEmpty, required { reader.problem(key, "required (the list is empty)") }
        var keys: [EncryptionKeySetting] = []
        var seen: Set<String> = []
        for (index, item) in items.enumerated() {
            let path = "\(key)[\(index)]"
            guard case .object(let fields) = item else {
                reader.problem(path, "must be an object {\"id\", \"key\"}, not \(item.typeName)")
                continue
            }
            for name in fields.keys.sorted() where name != "id" && name != "key" {
                reader.problem("\(path).\(name)", "unknown key")
            }
            var id: String?
            if case .string(let text)? = fields["id"], !text.isEmpty {
                if seen.insert(text).inserted { id = text } else { reader.problem("\(path).id", "duplicate id \(text)") }
            } else {
                reader.problem("\(path).id", "required (a non-empty string)")
            }
            var bytes: [UInt8]?
            if case .string(let text)? = fields["key"], let data = Data(base64Encoded: text), data.count == 32 {
                bytes = Array(data)
            } else {
                reader.problem("\(path).key", "must be base64 of 32 bytes")
            }
            if let id, let bytes { keys.append(EncryptionKeySetting(id: id, bytes: bytes)) }
        }
        return keys
    }

    private static func readLog(_ reader: inout ConfigurationReader) -> LogSettings {
        var settings = LogSettings()
        if let text = reader.string("log.level") {
            if let level = Logger.Level(rawValue: text.lowercased()) {
                settings.level = level
            } else {
                let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                reader.problem("log.level", "must be one of \(names)")
            }
        }
        if let text = reader.string("log.format") {
            if let format = LogFormat(rawValue: text.lowercased()) {
                settings.format = format
            } else {
                reader.problem("log.format", "must be json or text")
            }
        }
        return settings
    }

    /// The default per-account scope must be grantable: within the delegated scope, by the same
    /// rule (shorthands included) as each request's scope.
    private static func checkScopeCeiling(_ reader: inout ConfigurationReader, _ scope: String, within ceiling: String) {
        let extra = Scope.excess(scope, within: ceiling)
        if !extra.isEmpty {
            reader.problem(
                "accounts.default_scope",
                "must be within service_account.delegated_scope (not in it: \(extra.joined(separator: " ")))")
        }
    }

    static func trimTrailingSlash(_ url: URL) -> URL {
        var text = url.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return URL(string: text) ?? url
    }
}
