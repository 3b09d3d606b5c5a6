/// What the simulator reports about itself through `SimulatorControl` and `/_simulator`.
/// These are test instruments: they carry raw tokens, codes and bodies on purpose (a test greps
/// logs and database files for them, or checks that a `redirect_uri` equals a callback URL).

import FoundationEssentials

/// Every secret the simulator has handed out, in issue order.
public struct SimulatorIssued: Sendable, Equatable {
    public var accessTokens: [String]
    public var refreshTokens: [String]
    public var codes: [String]
    /// All of the above in one list.
    public var all: [String] { accessTokens + refreshTokens + codes }
}

/// One request received on an API endpoint, with the status it was answered with.
public struct SimulatorCall: Sendable {
    public var endpoint: SimulatorEndpoint
    public var method: String
    /// The request target as received (path and query).
    public var target: String
    /// The raw body as text (JSON or form).
    public var body: String
    /// The `Authorization` header, if any.
    public var authorization: String?
    public var status: Int
    /// When the whole request had arrived (wall clock), so a test can count how many calls
    /// reached "Cronofy" in a window of time, e.g. to check the daemon's request budget.
    public var receivedAt: Date
}

/// One delegated-access callback: what was (or will be) POSTed, and each delivery attempt.
public struct SimulatorCallback: Sendable {
    public struct Attempt: Sendable, Equatable {
        /// The receiver's status, or nil when it could not be reached or timed out.
        public var status: Int?
    }
    public var email: String
    public var callbackURL: String
    public var state: String?
    /// The exact JSON body sent (or, for a dropped callback, that would have been sent).
    public var body: String
    /// The code in the body (nil for a refusal).
    public var code: String?
    /// `unable_to_grant_scope` for a refusal.
    public var error: String?
    /// The `Cronofy-HMAC-SHA256` header sent, when signing was on.
    public var signature: String?
    public var attempts: [Attempt]
    /// True once a 2xx came back.
    public var delivered: Bool
    /// True when the callback was deliberately never sent.
    public var dropped: Bool
    /// True when no further attempt will be made (delivered, dropped or attempts exhausted).
    public var finished: Bool
}
