import ECDHTTP

/// Everything a `CronofySimulator` starts with. Fault injection set here applies from the first
/// request; `SimulatorControl` (or the `/_simulator` endpoint) changes it while running.
public struct SimulatorConfiguration: Sendable {
    public var listen: ListenAddress = .tcp(host: "127.0.0.1", port: 9000)
    /// The one application the simulator knows. Other credentials get `invalid_client`.
    public var clientID = "sim_client_id"
    public var clientSecret = "sim_client_secret"
    /// Lifetime of access tokens (`expires_in`); refresh tokens live until used or revoked.
    public var tokenLifetime: Duration = .seconds(1800)
    /// Lifetime of authorization codes, both the service account's and delegated ones.
    public var codeLifetime: Duration = .seconds(300)
    /// Sign delegated-access callbacks with `Cronofy-HMAC-SHA256` (base64 of HMAC-SHA256 keyed by
    /// the client secret over the raw body).
    public var signCallbacks = false
    /// Mailboxes whose delegated access is refused with `unable_to_grant_scope`.
    public var refusedEmails: Set<String> = []
    /// Identity of the service account an approval connects, unless the control API names
    /// another one for the next approval.
    public var serviceAccountDomain = "example.com"
    public var serviceAccountProvider = "google"
    public var serviceAccountEmail = "service-account@example.com"
    /// Wait before the first attempt to deliver a callback (Cronofy answers 202 first).
    public var callbackDelay: Duration = .milliseconds(20)
    /// Attempts per callback before giving up (the first one included). With the delays below a
    /// receiver has about 23 s to come back (a daemon restarting after a crash, say).
    public var callbackMaxAttempts = 8
    /// Delay before the first retry; it doubles for each further retry, capped at `callbackMaxRetryDelay`.
    public var callbackRetryBaseDelay: Duration = .milliseconds(200)
    public var callbackMaxRetryDelay: Duration = .seconds(10)
    /// When set, callbacks to `https` URLs trust exactly the certificates in this PEM file (the
    /// system's trust store is not consulted): a test's TLS server with a private certificate.
    public var callbackCAFile: String?
    /// Per-attempt timeout of a callback POST.
    public var callbackTimeout: Duration = .seconds(10)
    /// Mailboxes whose callbacks are never sent (as if Cronofy lost them).
    public var droppedCallbackEmails: Set<String> = []
    /// What `GET /v1/resources` lists; nil gives a default list in the service account's domain.
    public var resources: [SimulatorResource]?
    /// Faults active from the start (e.g. `--fault token:500:2`).
    public var faults: [SimulatorFaultRule] = []
    /// Approve every authorize request at once, as if `auto_approve=1` were on each: lets a test
    /// or the demo follow the daemon's redirect through the approval without a browser.
    public var autoApprove = false
    /// Called after each response is written (an access log for `ecd simulator`). Must not block.
    /// Request targets and bodies here can carry codes and tokens: log method, path and status.
    public var onResponse: (@Sendable (HTTPRequest?, HTTPResponse, RequestContext, Duration) -> Void)?

    public init() {}
}

/// A room or piece of equipment listed by `GET /v1/resources`.
public struct SimulatorResource: Sendable, Hashable, Codable {
    public var email: String
    public var name: String
    public init(email: String, name: String) {
        self.email = email
        self.name = name
    }

    /// Two rooms and a projector in `domain`, in the shape of the reference's example.
    public static func defaults(domain: String) -> [SimulatorResource] {
        [
            SimulatorResource(email: "board-room-london@\(domain)", name: "Board room (London)"),
            SimulatorResource(email: "meeting-room-1@\(domain)", name: "Meeting room 1"),
            SimulatorResource(email: "projector-1@\(domain)", name: "Projector 1"),
        ]
    }
}

/// Who a service-account approval connects: what userinfo later reports for it.
public struct ServiceAccountIdentity: Sendable, Hashable {
    public var email: String
    public var domain: String
    public var provider: String
    public init(email: String, domain: String, provider: String) {
        self.email = email
        self.domain = domain
        self.provider = provider
    }
}

extension SimulatorConfiguration: CustomStringConvertible {
    /// The settings in one line, with the client secret redacted.
    public var description: String {
        "SimulatorConfiguration(listen: \(listen), clientID: \(clientID), clientSecret: <redacted>, "
            + "tokenLifetime: \(tokenLifetime), codeLifetime: \(codeLifetime), signCallbacks: \(signCallbacks), "
            + "autoApprove: \(autoApprove), callbackCAFile: \(callbackCAFile ?? "-"), refused: \(refusedEmails.sorted()), dropped: \(droppedCallbackEmails.sorted()), "
            + "serviceAccount: \(serviceAccountEmail) (\(serviceAccountDomain), \(serviceAccountProvider)), faults: \(faults.count))"
    }
}
