/// One dotted key of api-contract.md §2: its type, whether it is a secret, and whether a `_file` companion
/// may supply it. The table below is the single list every part of loading and printing walks, so a
/// key cannot be parsed but forgotten by `check-config` (or the other way round).
struct ConfigurationKey: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case string, bool, integer, stringList, keyring
        /// `internal.api_keys`: plain keys and `{"name", "key", "role"}` objects.
        case apiKeys
    }

    /// How a `_file` companion's contents become the value.
    enum FileFormat: Sendable, Hashable {
        /// The whole file, trailing newlines trimmed (a secret written with `echo`), read like an
        /// environment variable's text (so `true`, `300` work for booleans and integers).
        case text
        /// One entry a line (API keys), or a JSON list when the file starts with `[`.
        case lines
        /// The JSON value itself (the keyring list).
        case json
    }

    let name: String
    let kind: Kind
    let secret: Bool
    let fileFormat: FileFormat

    /// Every key may be read from a file (`<key>_file`); `file` overrides the format its kind implies.
    init(_ name: String, _ kind: Kind, secret: Bool = false, file: FileFormat? = nil) {
        self.name = name
        self.kind = kind
        self.secret = secret
        switch kind {
        case .string, .bool, .integer: self.fileFormat = file ?? .text
        case .stringList, .keyring, .apiKeys: self.fileFormat = file ?? .json
        }
    }

    var fileKeyName: String { name + "_file" }

    /// `cronofy.client_secret` → `ECD_CRONOFY_CLIENT_SECRET`.
    static func environmentName(of key: String) -> String {
        "ECD_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    static let all: [ConfigurationKey] = [
        ConfigurationKey("cronofy.client_id", .string),
        ConfigurationKey("cronofy.client_secret", .string, secret: true, file: .text),
        ConfigurationKey("cronofy.data_center", .string),
        ConfigurationKey("cronofy.api_url", .string),
        ConfigurationKey("cronofy.app_url", .string),
        ConfigurationKey("cronofy.require_callback_signature", .bool),
        ConfigurationKey("cronofy.application_name", .string),
        ConfigurationKey("public.listen", .string),
        ConfigurationKey("public.base_url", .string),
        ConfigurationKey("public.trusted_proxies", .stringList),
        ConfigurationKey("internal.listen", .string),
        ConfigurationKey("internal.api_keys", .apiKeys, secret: true, file: .lines),
        ConfigurationKey("internal.allow_remote", .bool),
        ConfigurationKey("internal.open_probes", .bool),
        ConfigurationKey("storage.driver", .string),
        ConfigurationKey("storage.path", .string),
        ConfigurationKey("storage.postgres.url", .string, secret: true, file: .text),
        ConfigurationKey("storage.postgres.pool_size", .integer),
        ConfigurationKey("storage.postgres.lease_seconds", .integer),
        ConfigurationKey("storage.encryption_keys", .keyring, secret: true, file: .json),
        ConfigurationKey("service_account.scope", .string),
        ConfigurationKey("service_account.delegated_scope", .string),
        ConfigurationKey("accounts.default_scope", .string),
        ConfigurationKey("accounts.callback_timeout_seconds", .integer),
        ConfigurationKey("accounts.reauthorize_interval_seconds", .integer),
        ConfigurationKey("accounts.callback_attempts", .integer),
        ConfigurationKey("refresh.lead_seconds", .integer),
        ConfigurationKey("refresh.cronofy_requests_per_minute", .integer),
        ConfigurationKey("events.webhook_url", .string),
        ConfigurationKey("events.webhook_secret", .string, secret: true, file: .text),
        ConfigurationKey("events.webhook_secrets", .stringList, secret: true),
        ConfigurationKey("events.retention_days", .integer),
        ConfigurationKey("server.drain_seconds", .integer),
        ConfigurationKey("log.level", .string),
        ConfigurationKey("log.format", .string),
        ConfigurationKey("audit.path", .string),
    ]

    static let byName: [String: ConfigurationKey] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// Every name that may appear in the JSON file or the environment, `_file` companions included.
    static let acceptedNames: Set<String> = Set(all.flatMap { [$0.name, $0.fileKeyName] })

    /// The top-level objects of the JSON file.
    static let sections: Set<String> = Set(all.map { String($0.name.split(separator: ".")[0]) })

    /// Objects nested inside a section (`storage.postgres`): every dotted prefix of a key longer
    /// than its section.
    static let groups: Set<String> = Set(all.flatMap { key -> [String] in
        let parts = key.name.split(separator: ".")
        return parts.count < 3 ? [] : (2..<parts.count).map { parts[..<$0].joined(separator: ".") }
    })
}

/// A JSON value as the file (or an environment variable holding JSON) spelled it. Decoding keeps
/// booleans and numbers apart, so `"port": true` is reported instead of silently becoming 1.
enum ConfigValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([ConfigValue])
    case object([String: ConfigValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ConfigValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: ConfigValue].self))
        }
    }

    /// The items of a list (nothing for any other value).
    var arrayItems: [ConfigValue] {
        if case .array(let items) = self { return items }
        return []
    }

    /// "a string", "a list", … for "must be X, not Y" messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }
}
