import ECDHTTP
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// systemd's readiness protocol (`sd_notify(3)`, `Type=notify`) without libsystemd: one datagram
/// per state change to the unix socket named by `$NOTIFY_SOCKET` (a path, or an abstract socket
/// when it starts with `@`). Without that variable every call does nothing, so `ecd serve` run by
/// hand or by tests behaves as before.
///
/// `READY=1` tells systemd (and `systemctl start`, and units ordered after ecd) that both
/// listeners are bound and the database is open; `STOPPING=1` that a drain began; `WATCHDOG=1`,
/// sent every half `WatchdogSec`, that the event loops and the database still answer.
struct SystemdNotifier: Sendable {
    /// Where systemd listens, or nil when not run under its notify protocol.
    private let address: UnixSocketAddress?
    /// Half of `$WATCHDOG_USEC` when the watchdog is on for this very process.
    let watchdogInterval: Duration?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        address = environment["NOTIFY_SOCKET"].flatMap(Self.socketAddress)
        // WATCHDOG_PID, when set, names the process the watchdog is meant for (sd_watchdog_enabled).
        let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if forUs, let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 {
            watchdogInterval = .microseconds(Int64(usec / 2))
        } else {
            watchdogInterval = nil
        }
    }

    var isActive: Bool { address != nil }

    /// Sends `state` (`KEY=VALUE` lines). Errors are ignored as `sd_notify` callers do: a missing
    /// supervisor must never stop the daemon. Returns whether the datagram left.
    @discardableResult
    func notify(_ state: String) -> Bool {
        guard let address else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let sent = address.withSockaddr { socketAddress, length in
            Array(state.utf8).withUnsafeBytes { payload in
                sendto(fd, payload.baseAddress, payload.count, Int32(MSG_NOSIGNAL), socketAddress, length)
            }
        }
        return sent >= 0
    }

    /// `$NOTIFY_SOCKET`: an absolute path, or `@name` for Linux's abstract namespace.
    static func socketAddress(_ path: String) -> UnixSocketAddress? {
        if path.hasPrefix("@") { return UnixSocketAddress(abstractName: String(path.dropFirst())) }
        return path.hasPrefix("/") ? UnixSocketAddress(path: path) : nil
    }
}
