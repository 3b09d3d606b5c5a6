import ECDPostgres
import ECDTestSupport
import Foundation
import Testing

/// A loopback port whose kernel completes TCP handshakes but where nobody ever answers: the
/// shape of a server that hangs or of a network that drops packets.
final class SilentServer {
    let port: Int
    private let socket: Int32
    var descriptor: Int32 { socket }

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

/// Speaks just enough of PostgreSQL's protocol to let a client connect (no TLS, trust), then
/// never answers a query — and never closes a cancel request's connection either, which is what
/// a hung server does and what makes libpq's PQcancel wait forever.
final class MuteServer: @unchecked Sendable {
    let port: Int
    private let listener: SilentServer
    private let lock = NSLock()
    private var clients: [Int32] = []

    init() throws {
        listener = try SilentServer()
        port = listener.port
        let socket = listener.descriptor
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(socket, nil, nil)
                guard client >= 0 else { return }
                lock.withLock { clients.append(client) }
                Thread.detachNewThread { Self.serve(client) }
            }
        }
    }

    deinit {
        shutdown(listener.descriptor, Int32(SHUT_RDWR))
        lock.withLock { clients.forEach { shutdown($0, Int32(SHUT_RDWR)); close($0) } }
    }

    private static func serve(_ client: Int32) {
        func readExactly(_ count: Int) -> [UInt8]? {
            var bytes = [UInt8](repeating: 0, count: count)
            var got = 0
            while got < count {
                let n = bytes.withUnsafeMutableBytes { read(client, $0.baseAddress! + got, count - got) }
                if n <= 0 { return nil }
                got += n
            }
            return bytes
        }
        func int32(_ bytes: [UInt8], at offset: Int) -> Int {
            Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
        }
        func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { write(client, $0.baseAddress, bytes.count) } }
        while true {
            guard let header = readExactly(8) else { return }
            let length = int32(header, at: 0), code = int32(header, at: 4)
            if code == 80_877_103 || code == 80_877_104 {   // SSLRequest, GSSENCRequest: no
                send([0x4E])
                continue
            }
            if code == 80_877_102 { return }   // CancelRequest: never answered, never closed
            guard readExactly(length - 8) != nil else { return }   // the startup parameters
            send([0x52, 0, 0, 0, 8, 0, 0, 0, 0])                   // AuthenticationOk
            send([0x4B, 0, 0, 0, 12, 0, 0, 0, 42, 0, 0, 0, 7])     // BackendKeyData
            send([0x5A, 0, 0, 0, 5, 0x49])                         // ReadyForQuery (idle)
            while readExactly(1) != nil {}                         // then silence
            return
        }
    }
}

@Suite("PostgreSQL server that stops answering")
struct MuteServerTests {
    @Test func aStatementTimesOutEvenWhenTheCancelRequestHangs() throws {
        let mute = try MuteServer()
        let pool = PostgresPool(PostgresConfiguration(
            url: "postgresql://ecd@127.0.0.1:\(mute.port)/postgres?sslmode=disable&gssencmode=disable",
            poolSize: 1, connectTimeout: .seconds(2), statementTimeout: .milliseconds(500)))
        defer { pool.close() }
        let outcome = LockedBox<PostgresError?>(nil)
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do { _ = try pool.read { try $0.query("SELECT 1") } } catch let error as PostgresError { outcome.value = error } catch {}
            finished.signal()
        }
        #expect(finished.wait(timeout: .now() + 5) == .success, "the caller hung on the cancel request")
        #expect(outcome.value?.kind == .timeout, "\(String(describing: outcome.value))")
    }
}
