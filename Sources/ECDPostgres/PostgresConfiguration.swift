import FoundationEssentials
import Glibc

/// How a pool or a listener reaches PostgreSQL. The URL may hold a password: nothing in this
/// module ever puts it (or the URL) into an error, a log line or a description.
public struct PostgresConfiguration: Sendable, CustomStringConvertible {
    /// A libpq connection URI (`postgresql://user:pass@host:port/db?sslmode=…`) or a
    /// `key=value` conninfo string. Parameters in it win over the defaults this module sets.
    public var url: String
    /// Connections the pool opens at most; borrower number `poolSize + 1` waits.
    public var poolSize: Int
    /// Longest wait for a free connection before `PostgresError.Kind.poolTimeout`.
    public var borrowTimeout: Duration
    /// Longest time to open one connection (TCP, TLS and authentication).
    public var connectTimeout: Duration
    /// Longest wait for one statement's answer. Past it the statement is cancelled and its
    /// connection dropped, so a server that stops answering cannot hold a caller forever.
    public var statementTimeout: Duration
    /// After a failed connection attempt no new attempt is made for this long, doubling per
    /// failure up to `maximumBackoff`; callers fail at once with `.unavailable` meanwhile, so an
    /// outage costs them no waiting and the server is not hammered when it comes back.
    public var initialBackoff: Duration
    public var maximumBackoff: Duration
    /// Prepared statements kept per connection (least recently used is deallocated first).
    public var statementCacheCapacity: Int
    /// Shown in `pg_stat_activity`, to tell the nodes of a cluster apart.
    public var applicationName: String

    public init(url: String, poolSize: Int = 8,
                borrowTimeout: Duration = .seconds(5), connectTimeout: Duration = .seconds(5),
                statementTimeout: Duration = .seconds(30),
                initialBackoff: Duration = .milliseconds(100), maximumBackoff: Duration = .seconds(5),
                statementCacheCapacity: Int = 64, applicationName: String = "ecd") {
        self.url = url
        self.poolSize = max(1, poolSize)
        self.borrowTimeout = borrowTimeout
        self.connectTimeout = connectTimeout
        self.statementTimeout = statementTimeout
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.statementCacheCapacity = max(1, statementCacheCapacity)
        self.applicationName = applicationName
    }

    /// Everything but the URL, which may carry a password.
    public var description: String {
        "PostgresConfiguration(poolSize: \(poolSize), borrowTimeout: \(borrowTimeout), "
            + "connectTimeout: \(connectTimeout), statementTimeout: \(statementTimeout), url: <redacted>)"
    }
}

/// `dump` and other reflection read stored properties, not `description`: the URL stays out there too.
extension PostgresConfiguration: CustomReflectable {
    public var customMirror: Mirror {
        Mirror(self, children: ["poolSize": poolSize, "borrowTimeout": borrowTimeout, "connectTimeout": connectTimeout,
                                "statementTimeout": statementTimeout, "url": "<redacted>"], displayStyle: .struct)
    }
}

extension PostgresConfiguration {
    /// initialBackoff · 2^(failures − 1), capped, with ±20 % jitter so that the nodes of a
    /// cluster do not all reconnect in the same instant.
    func backoff(afterFailures failures: Int) -> Duration {
        let initial = Double(initialBackoff.milliseconds)
        let cap = Double(maximumBackoff.milliseconds)
        let base = min(cap, initial * pow(2, Double(min(max(failures, 1) - 1, 30))))
        return .milliseconds(Int64(base * Double.random(in: 0.8...1.2)))
    }
}

extension Duration {
    /// Whole milliseconds, for poll(2) and log lines.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
