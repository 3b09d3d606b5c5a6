import ECDSync
import Logging

/// Process-wide logging setup. swift-log allows one bootstrap per process; this makes the first
/// call win and later ones harmless (tests and `demo` may ask more than once).
public enum ECDLogging {
    private static let bootstrapped = Locked(false)

    /// Routes every `Logger` of the process to ``ECDLogHandler`` at `settings.level`.
    /// Returns false when logging had already been bootstrapped (the earlier settings stay).
    @discardableResult
    public static func bootstrap(_ settings: LogSettings, sink: LogSink = .standardError) -> Bool {
        bootstrapped.withLock { done in
            guard !done else { return false }
            done = true
            LoggingSystem.bootstrap { label in
                ECDLogHandler(label: label, level: settings.level, format: settings.format, sink: sink)
            }
            return true
        }
    }

    /// A logger that writes through ``ECDLogHandler`` whether or not the process was bootstrapped
    /// (for commands that log before, or instead of, the global setup).
    public static func logger(label: String, settings: LogSettings, sink: LogSink = .standardError) -> Logger {
        Logger(label: label) { label in
            ECDLogHandler(label: label, level: settings.level, format: settings.format, sink: sink)
        }
    }
}
