import ECDCronofy
import ECDHTTP
import ECDPostgres
import Foundation
import Logging

/// The daemon's settings, typed and validated: one field for every key of api-contract.md §2.
///
/// Build it with ``AppConfiguration/load(configPath:environment:mode:)``, which reads the JSON file
/// and the `ECD_*` environment, resolves `_file` keys and reports every problem at once. Keys that
/// only `serve` needs (client credentials, base URL, API keys, keyring) are checked only in
/// ``ConfigurationMode/serve``; in the other modes they may be empty (`""`, `[]`, `nil`).
public struct AppConfiguration: Sendable {
    public var cronofy: CronofySettings
    public var publicListener: PublicListenerSettings
    public var internalListener: InternalListenerSettings
    public var storage: StorageSettings
    public var serviceAccount: ServiceAccountSettings
    public var accounts: AccountsSettings
    public var refresh: RefreshSettings
    public var events: EventsSettings
    public var log: LogSettings
    public var audit: AuditSettings = AuditSettings()
    public var server: ServerSettings = ServerSettings()
    /// The JSON file the settings came from, when one was read.
    public var sourceFile: String?
    /// Where each key's effective value came from (keys of api-contract.md §2 without `_file`).
    public var origins: [String: ConfigurationOrigin]
    /// Reads `storage.encryption_keys` again from the sources this configuration came from (the
    /// same file and environment, as a restart would): SIGHUP's keyring reload. Nil when the
    /// configuration was built in code.
    public var rereadKeyring: (@Sendable () throws(ConfigurationError) -> [EncryptionKeySetting])?

    public init(
        cronofy: CronofySettings, publicListener: PublicListenerSettings,
        internalListener: InternalListenerSettings, storage: StorageSettings,
        serviceAccount: ServiceAccountSettings = ServiceAccountSettings(),
        accounts: AccountsSettings = AccountsSettings(), refresh: RefreshSettings = RefreshSettings(),
        events: EventsSettings = EventsSettings(), log: LogSettings = LogSettings(), sourceFile: String? = nil,
        origins: [String: ConfigurationOrigin] = [:]
    ) {
        self.cronofy = cronofy
        self.publicListener = publicListener
        self.internalListener = internalListener
        self.storage = storage
        self.serviceAccount = serviceAccount
        self.accounts = accounts
        self.refresh = refresh
        self.events = events
        self.log = log
        self.sourceFile = sourceFile
        self.origins = origins
    }
}

/// Which command the configuration is loaded for: decides which keys are required.
public enum ConfigurationMode: Sendable, Equatable {
    /// `serve` and `check-config`: everything the daemon needs must be present.
    case serve
    /// `migrate` and `backup`: only the database location matters.
    case database
    /// `keys rewrap`: the database and the keyring.
    case keyring
}

/// `cronofy.*`
public struct CronofySettings: Sendable {
    public var clientID: String
    /// Secret: never logged or printed (see `effectiveDescription`).
    public var clientSecret: String
    public var dataCenter: DataCenter
    /// `cronofy.api_url` when set, else the data center's API host.
    public var apiURL: URL
    /// `cronofy.app_url` when set, else the data center's app host.
    public var appURL: URL
    public var requireCallbackSignature: Bool
    /// `cronofy.application_name`: how the connect page names the Cronofy application the admin is
    /// about to authorize (the client id when unset; neither is secret).
    public var applicationName: String?

    public init(
        clientID: String, clientSecret: String, dataCenter: DataCenter = .us,
        apiURL: URL? = nil, appURL: URL? = nil, requireCallbackSignature: Bool = false,
        applicationName: String? = nil
    ) {
        self.applicationName = applicationName
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.dataCenter = dataCenter
        self.apiURL = apiURL ?? dataCenter.apiURL
        self.appURL = appURL ?? dataCenter.appURL
        self.requireCallbackSignature = requireCallbackSignature
    }

    /// The Cronofy client's settings (timeouts and user agent at their defaults).
    public var clientConfiguration: CronofyConfiguration {
        CronofyConfiguration(
            clientID: clientID, clientSecret: clientSecret, dataCenter: dataCenter, apiURL: apiURL, appURL: appURL)
    }
}

/// `public.*`
public struct PublicListenerSettings: Sendable {
    public var listen: ListenAddress
    /// External URL as Cronofy sees it, without a trailing slash. Non-nil in ``ConfigurationMode/serve``.
    public var baseURL: URL?
    public var trustedProxies: TrustedProxies

    public init(
        listen: ListenAddress = .tcp(host: "127.0.0.1", port: 8080), baseURL: URL? = nil,
        trustedProxies: TrustedProxies = .loopback
    ) {
        self.listen = listen
        self.baseURL = baseURL
        self.trustedProxies = trustedProxies
    }
}

/// `internal.*`
public struct InternalListenerSettings: Sendable {
    public var listen: ListenAddress
    /// The live key set: the auth middleware asks it on every request, and `SIGHUP` makes it reread
    /// `internal.api_keys_file` (a reference shared by every copy of the configuration).
    public var apiKeys: APIKeyStore
    /// `internal.allow_remote`: a `listen` address other hosts can reach is accepted (the API then
    /// travels in clear text unless TLS is put in front of it). Without it such an address is refused.
    public var allowRemote: Bool
    /// `internal.open_probes`: `/readyz` and `/metrics` answer without a key (a local Prometheus
    /// and load balancer need none); everything else still needs one.
    public var openProbes: Bool

    public init(listen: ListenAddress = .tcp(host: "127.0.0.1", port: 8081), apiKeys: APIKeyStore,
                allowRemote: Bool = false, openProbes: Bool = false) {
        self.listen = listen
        self.apiKeys = apiKeys
        self.allowRemote = allowRemote
        self.openProbes = openProbes
    }
}

/// `storage.*`
public struct StorageSettings: Sendable {
    /// `storage.driver`: which database holds the daemon's state.
    public enum Driver: String, Sendable, CaseIterable {
        /// One file (`storage.path`), one daemon on it (the default).
        case sqlite
        /// A shared PostgreSQL (`storage.postgres.*`): any number of daemons on it.
        case postgres
    }

    public var driver: Driver
    /// The SQLite database (driver `sqlite`); with `postgres` only the default folder of `audit.path`.
    public var path: String
    /// `storage.postgres.*`; set exactly when `driver` is `postgres`.
    public var postgres: PostgresSettings?
    /// The keyring, first key first (it encrypts; all decrypt). Non-empty in `serve`/`keyring` modes.
    public var encryptionKeys: [EncryptionKeySetting]

    public init(driver: Driver = .sqlite, path: String = "data/ecd.sqlite", postgres: PostgresSettings? = nil,
                encryptionKeys: [EncryptionKeySetting] = []) {
        self.driver = driver
        self.path = path
        self.postgres = postgres
        self.encryptionKeys = encryptionKeys
    }
}

/// `storage.postgres.*`. The URL may hold a password: `PostgresURL` prints only its redacted form.
public struct PostgresSettings: Sendable {
    public static let defaultPoolSize = 8
    /// Above this a pool of every node of a cluster would soon exceed PostgreSQL's default
    /// `max_connections` (100).
    public static let maximumPoolSize = 64

    public static let defaultLeaseSeconds = 30
    /// A lease shorter than this could run out between two renewals of a loaded node.
    public static let minimumLeaseSeconds = 2
    public static let maximumLeaseSeconds = 600

    public var url: PostgresURL
    public var poolSize: Int
    /// `storage.postgres.lease_seconds`: how long the shared work a node dies holding (a
    /// callback's exchange, webhook delivery, event retention) waits before another node takes it.
    public var leaseSeconds: Int

    public init(url: PostgresURL, poolSize: Int = PostgresSettings.defaultPoolSize,
                leaseSeconds: Int = PostgresSettings.defaultLeaseSeconds) {
        self.url = url
        self.poolSize = poolSize
        self.leaseSeconds = leaseSeconds
    }
}

/// One `{"id": "k2", "key": "<base64 of 32 bytes>"}` entry of `storage.encryption_keys`.
public struct EncryptionKeySetting: Sendable, Equatable, CustomStringConvertible {
    public var id: String
    /// Exactly 32 bytes. Secret.
    public var bytes: [UInt8]

    public init(id: String, bytes: [UInt8]) {
        self.id = id
        self.bytes = bytes
    }

    /// Names the key, never shows it, so a stray `print` or string interpolation cannot leak it.
    public var description: String { "EncryptionKeySetting(id: \(id), key: <redacted>)" }
}

/// `service_account.*`
public struct ServiceAccountSettings: Sendable {
    public var scope: String
    public var delegatedScope: String

    public init(
        scope: String = ConfigurationDefaults.serviceAccountScope,
        delegatedScope: String = ConfigurationDefaults.delegatedScope
    ) {
        self.scope = scope
        self.delegatedScope = delegatedScope
    }
}

/// `accounts.*`
public struct AccountsSettings: Sendable {
    public var defaultScope: String
    public var callbackTimeoutSeconds: Int
    public var callbackTimeout: Duration { .seconds(callbackTimeoutSeconds) }
    public var reauthorizeIntervalSeconds: Int
    public var callbackAttempts: Int

    public init(defaultScope: String = ConfigurationDefaults.accountScope, callbackTimeoutSeconds: Int = 900,
                reauthorizeIntervalSeconds: Int = 3600, callbackAttempts: Int = 3) {
        self.defaultScope = defaultScope
        self.callbackTimeoutSeconds = callbackTimeoutSeconds
        self.reauthorizeIntervalSeconds = reauthorizeIntervalSeconds
        self.callbackAttempts = callbackAttempts
    }
}

/// `refresh.*`
public struct RefreshSettings: Sendable {
    public var leadSeconds: Int
    public var cronofyRequestsPerMinute: Int
    public var lead: Duration { .seconds(leadSeconds) }

    public init(leadSeconds: Int = 300, cronofyRequestsPerMinute: Int = 400) {
        self.leadSeconds = leadSeconds
        self.cronofyRequestsPerMinute = cronofyRequestsPerMinute
    }
}

/// `events.*`
public struct EventsSettings: Sendable {
    public var webhookURL: URL?
    /// `events.webhook_secret`, or `events.webhook_secrets` during a rotation: the first signs, every
    /// one gets a `v1=` in `ECD-Signature`. Secret. Non-empty whenever `webhookURL` is set (serve).
    public var webhookSecrets: [String] = []
    /// Events older than this many days are deleted (those the webhook has not delivered excepted).
    public var retentionDays: Int
    public var retention: Duration { .seconds(retentionDays * 86_400) }

    public init(webhookURL: URL? = nil, retentionDays: Int = 90) {
        self.webhookURL = webhookURL
        self.retentionDays = retentionDays
    }
}

/// `audit.*`
public struct AuditSettings: Sendable {
    /// `audit.path`: the audit log, one JSON line per token read and change (README "Audit log").
    /// Unset: `audit.log` beside `storage.path`.
    public var path: String?

    public init(path: String? = nil) { self.path = path }

    /// The file the daemon writes: `path`, else beside the database.
    public func effectivePath(storagePath: String) -> String {
        if let path { return path }
        let folder = (storagePath as NSString).deletingLastPathComponent
        return folder.isEmpty ? "audit.log" : folder + "/audit.log"
    }
}

/// `server.*`: the daemon process itself.
public struct ServerSettings: Sendable {
    /// How long a stop (SIGTERM) lets in-flight requests finish before closing them.
    public var drainSeconds: Int
    public var drainDeadline: Duration { .seconds(drainSeconds) }

    /// The longest drain: systemd's `TimeoutStopSec` must stay above drain + the core's stop.
    public static let maximumDrainSeconds = 600

    public init(drainSeconds: Int = 30) { self.drainSeconds = drainSeconds }
}

/// `log.*`
public struct LogSettings: Sendable {
    public var level: Logger.Level
    public var format: LogFormat

    public init(level: Logger.Level = .info, format: LogFormat = .json) {
        self.level = level
        self.format = format
    }
}

/// `log.format`: JSON lines for machines, text for people at a terminal.
public enum LogFormat: String, Sendable, CaseIterable {
    case json, text
}

/// Default values of api-contract.md §2 that are long enough to name.
public enum ConfigurationDefaults {
    public static let serviceAccountScope = "service_account/accounts/manage service_account/resources/manage"
    public static let delegatedScope =
        "read_account list_calendars read_events create_event delete_event read_free_busy"
    public static let accountScope = "read_account list_calendars read_events create_event delete_event"
    public static let configPath = "Config/ecd.json"
}
