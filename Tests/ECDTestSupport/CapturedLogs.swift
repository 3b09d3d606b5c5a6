import ECDSync
import Logging

/// Every log line of the code under test, kept in memory, so tests can check what is (and is
/// not) logged: an event's metadata, and that no secret ever reaches a log.
public final class CapturedLogs: Sendable {
    public struct Entry: Sendable {
        public var label: String
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
        /// Message and metadata in one string, for "is this secret anywhere?" checks.
        public var flattened: String { ([message] + metadata.map { "\($0.key)=\($0.value)" }).joined(separator: " ") }
    }

    private let stored = Locked<[Entry]>([])

    public init() {}

    public var entries: [Entry] { stored.withLock { $0 } }

    /// Every line, level first (`notice refresh leases … cleared key=value …`), one per line.
    public var text: String { entries.map { "\($0.level) \($0.flattened)" }.joined(separator: "\n") }

    /// The entries matching `predicate`, once there are at least `count` of them (polling with
    /// `Task.sleep`, up to `timeout`; fewer when time runs out, so the caller's check fails).
    /// A line may be written after the answer a test holds (an access log line follows its
    /// response): a fixed short sleep is a race on a loaded machine.
    @discardableResult
    public func waitFor(_ count: Int = 1, timeout: Duration = .seconds(10), where predicate: (Entry) -> Bool) async -> [Entry] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let matching = entries.filter(predicate)
            if matching.count >= count || ContinuousClock.now >= deadline { return matching }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// A logger at `.trace` whose lines land here.
    public func logger(label: String = "ecd.test") -> Logger {
        var logger = Logger(label: label) { label in Handler(label: label, capture: self) }
        logger.logLevel = .trace
        return logger
    }

    public var logger: Logger { logger() }

    private struct Handler: LogHandler {
        let label: String
        let capture: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var flat: [String: String] = [:]
            for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { flat[key] = "\(value)" }
            let entry = Entry(label: label, level: event.level, message: "\(event.message)", metadata: flat)
            capture.stored.withLock { $0.append(entry) }
        }
    }
}
