import ECDPostgres
import ECDTestSupport
import Foundation
import Testing

/// A loopback port whose kernel completes TCP handshakes but where nobody ever answers: the
/// shape of a server that hangs or of a network that drops packets.
final class SilentServer {
    let port: Int
    private let socket: Int32

    init() throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let status = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Int32 in
                guard bind(fd, raw, length) == 0, listen(fd, 16) == 0 else { return -1 }
                return getsockname(fd, raw, &length)
            }
        }
        guard status == 0 else {
            close(fd)
            throw PostgresTestServer.Failure(description: "silent server: errno \(errno)")
        }
        socket = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(socket) }
}

@Suite("PostgreSQL server that never answers")
struct SilentServerTests {
    @Test func connectingGivesUpAtItsTimeoutThenBacksOffWithoutWaiting() throws {
        let silent = try SilentServer()
        let pool = PostgresPool(PostgresConfiguration(
            url: "postgresql://ecd@127.0.0.1:\(silent.port)/postgres", poolSize: 2, borrowTimeout: .seconds(30),
            connectTimeout: .seconds(1), initialBackoff: .seconds(3), maximumBackoff: .seconds(3)))
        defer { pool.close() }
        var started = ContinuousClock.now
        let first = expectPostgresError { _ = try pool.read { try $0.query("SELECT 1") } }
        let firstTook = ContinuousClock.now - started
        #expect(first?.kind == .unavailable)
        #expect(firstTook >= .milliseconds(900) && firstTook < .seconds(5), "gave up after \(firstTook)")
        // Within the backoff no attempt is made: the caller learns at once.
        started = ContinuousClock.now
        let second = expectPostgresError { _ = try pool.read { try $0.query("SELECT 1") } }
        #expect(second?.kind == .unavailable)
        #expect(ContinuousClock.now - started < .milliseconds(300))
        #expect(second?.message.contains("next connection attempt") == true)
        #expect(pool.openConnections == 0)
    }

    @Test func aListenerOnASilentServerStopsPromptly() throws {
        let silent = try SilentServer()
        let log = EventLog()
        let listener = try PostgresListener(PostgresConfiguration(
            url: "postgresql://ecd@127.0.0.1:\(silent.port)/postgres", connectTimeout: .seconds(1),
            initialBackoff: .seconds(10), maximumBackoff: .seconds(10)), channels: ["c"], handler: log.append)
        listener.start()
        #expect(log.wait(timeout: 5, EventLog.isDisconnected), "a hanging connect was not given up")
        #expect(!listener.isListening)
        // Now in its 10 s backoff: stop must not wait for it.
        let started = ContinuousClock.now
        listener.stop()
        #expect(ContinuousClock.now - started < .seconds(1))
    }
}
