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
    /// `sockaddr_un` bytes and length, or nil when not run under systemd's notify protocol.
    private let address: [UInt8]?
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
        guard var address else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let length = socklen_t(address.count)
        let sent = address.withUnsafeMutableBytes { raw in
            Array(state.utf8).withUnsafeBytes { payload in
                sendto(fd, payload.baseAddress, payload.count, Int32(MSG_NOSIGNAL),
                       raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
            }
        }
        return sent >= 0
    }

    /// `sockaddr_un` for `path`; a leading `@` means Linux's abstract namespace (a NUL first byte).
    static func socketAddress(_ path: String) -> [UInt8]? {
        var bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.first == UInt8(ascii: "/") || bytes.first == UInt8(ascii: "@") else { return nil }
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        let pathCapacity = MemoryLayout<sockaddr_un>.size - MemoryLayout<sa_family_t>.size
        guard bytes.count < pathCapacity else { return nil }
        var address = [UInt8](repeating: 0, count: MemoryLayout<sa_family_t>.size)
        withUnsafeBytes(of: sa_family_t(AF_UNIX)) { address.replaceSubrange(0..<$0.count, with: $0) }
        address += bytes
        // A path socket's address includes its terminating NUL; an abstract one is exactly its bytes.
        if !abstract { address.append(0) }
        return address
    }
}
