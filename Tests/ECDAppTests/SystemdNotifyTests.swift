import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp
#if canImport(Glibc)
import Glibc
#endif

/// `Type=notify` for real: `ecd serve` in a child process reports to a datagram socket the test
/// binds where systemd's `$NOTIFY_SOCKET` would be.
@Suite("systemd notify protocol", .serialized)
struct SystemdNotifyTests {
    @Test("serve sends READY=1 once both listeners answer, WATCHDOG=1 while healthy, STOPPING=1 on SIGTERM")
    func readyWatchdogStopping() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let notify = try NotifySocket(path: folder.url.appendingPathComponent("notify.sock").path)
        let environment = DaemonEnvironment.make(folder, extra: [
            "NOTIFY_SOCKET": notify.path,
            "WATCHDOG_USEC": "200000",   // a ping every 100 ms
        ])
        let process = try RunningECD(["serve"], environment: environment)

        let ready = try await notify.next()
        #expect(ready.contains("READY=1"), "first message: \(ready)")
        // READY means usable: both listeners take connections the moment it arrives.
        let listening = try await process.waitForError { $0.contains("\"msg\":\"listening\"") }
        let fields = try #require(try JSONSerialization.jsonObject(with: Data(listening.utf8)) as? [String: Any])
        for key in ["public", "internal"] {
            let address = try #require(fields[key] as? String)
            let port = try #require(Int(address.split(separator: ":").last ?? ""))
            let response = try await RawHTTP.send(.tcp(port: port), "GET", "/healthz")
            #expect(response.status == 200, "\(key) listener")
        }

        var pings = 0
        while pings < 3 {
            let message = try await notify.next()
            #expect(message == "WATCHDOG=1", "unexpected: \(message)")
            pings += 1
        }

        kill(process.pid, SIGTERM)
        var stopping = false
        while !stopping {
            let message = try await notify.next()
            stopping = message.contains("STOPPING=1")
            if !stopping { #expect(message == "WATCHDOG=1", "unexpected: \(message)") }
        }
        // The watchdog was stopped before the stop began: nothing follows STOPPING=1.
        #expect(await process.terminate(signal: SIGTERM) == 0,
                "stderr: \(process.standardError().split(separator: "\n").filter { !$0.hasPrefix("{") }.joined(separator: "\n"))")
        #expect(notify.pending() == nil)
    }

    @Test("without NOTIFY_SOCKET nothing is sent and nothing fails")
    func inactiveWithoutSocket() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isActive)
        #expect(notifier.watchdogInterval == nil)
        #expect(!notifier.notify("READY=1"))
    }

    @Test("the watchdog is for this process only when WATCHDOG_PID says so")
    func watchdogPID() {
        let mine = SystemdNotifier(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": String(getpid())])
        #expect(mine.watchdogInterval == .seconds(15))
        let other = SystemdNotifier(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": String(getpid() + 1)])
        #expect(other.watchdogInterval == nil)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "0"]).watchdogInterval == nil)
    }

    @Test("socket addresses: a path keeps its NUL, an abstract name (@) starts with one, others are refused")
    func socketAddresses() throws {
        let family = MemoryLayout<sa_family_t>.size
        let path = try #require(SystemdNotifier.socketAddress("/run/systemd/notify"))
        #expect(Array(path.bytes[family...]) == Array("/run/systemd/notify".utf8) + [0])
        let abstract = try #require(SystemdNotifier.socketAddress("@ecd-notify"))
        #expect(Array(abstract.bytes[family...]) == [0] + Array("ecd-notify".utf8))
        #expect(SystemdNotifier.socketAddress("relative/path") == nil)
        #expect(SystemdNotifier.socketAddress("/" + String(repeating: "x", count: 200)) == nil)
    }
}

/// A bound `AF_UNIX` datagram socket standing in for systemd's notify socket.
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        let address = SocketAddress.unix(path: path)
        fd = try address.socket(type: Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        do { try address.bind(fd) } catch { close(fd); throw error }
    }

    deinit { close(fd); unlink(path) }

    /// A datagram already received and not yet read, if any (does not wait).
    func pending() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        return count >= 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }

    /// The next datagram, waiting up to 20 s (on a thread of its own: poll blocks).
    func next() async throws -> String {
        let fd = self.fd
        return try await onOwnThread {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 20_000) == 1 else { throw RawHTTP.Failure(description: "no notify message within 20 s") }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count >= 0 else { throw RawHTTP.Failure(description: "recv: errno \(errno)") }
            return String(decoding: buffer[..<count], as: UTF8.self)
        }
    }
}
