import Foundation
import Testing
@testable import ECDHTTP
import ECDTestSupport

@Suite("Live server: start and stop")
struct LiveLifecycleTests {
    /// The test router plus `GET /held`, whose handler signals `started` once it runs and then
    /// waits for `release` (so a request can be held in flight for exactly as long as a test
    /// needs), signalling `finished` when it answers.
    struct HeldRequest {
        let started = TestSignal()
        let release = TestSignal()
        let finished = TestSignal()

        var router: Router {
            var router = testRouter()
            let started = self.started, release = self.release, finished = self.finished
            router.getAsync("/held") { _, _ in
                started.fire()
                _ = await release.wait(timeout: .seconds(30))
                finished.fire()
                return .text(.ok, "held")
            }
            return router
        }
    }

    @Test func gracefulShutdownFinishesInFlightAndClosesIdle() async throws {
        let held = HeldRequest()
        let server = HTTPServer(configuration: .init(listen: .tcp(host: "127.0.0.1", port: 0)), responder: held.router)
        try server.start()
        let port = server.port
        let idle = try RawClient(port: port)
        idle.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = try await idle.readResponse()
        let busy = try RawClient(port: port)
        busy.send("GET /held HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(await held.started.wait())   // in flight: its handler is running

        let start = ContinuousClock.now
        let stopped = TestSignal()
        let stopping = Task {
            await server.shutdown(deadline: .seconds(10))
            stopped.fire()
        }
        #expect(await idle.isClosedByPeer())
        // The idle connection is gone, the busy one is not answered yet: shutdown waits for it.
        #expect(!stopped.hasFired)
        #expect(!held.finished.hasFired)
        held.release.fire()
        let response = try await busy.readResponse()
        #expect(response.text == "held")
        #expect(response.header("Connection") == "close")
        await stopping.value
        // It ended when that request was done, far before the 10 s deadline (the bound leaves
        // room for a loaded machine).
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(server.connectionCount == 0)
        #expect(throws: RawClient.Failure.self) { try RawClient(port: port) }
    }

    @Test func shutdownDeadlineCutsSlowRequests() async throws {
        let held = HeldRequest()
        defer { held.release.fire() }
        let server = HTTPServer(configuration: .init(listen: .tcp(host: "127.0.0.1", port: 0)), responder: held.router)
        try server.start()
        let busy = try RawClient(port: server.port)
        busy.send("GET /held HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(await held.started.wait())
        let deadline: Duration = .milliseconds(300)
        let start = ContinuousClock.now
        await server.shutdown(deadline: deadline)
        let took = ContinuousClock.now - start
        // Shutdown waited for the in-flight request until the deadline (not less), then cut it
        // while its handler was still running (not after it finished; generous for a loaded machine).
        #expect(took >= deadline)
        #expect(took < .seconds(5))
        #expect(!held.finished.hasFired)
        #expect(server.connectionCount == 0)
        // The client got no answer at all: its connection was closed under it.
        #expect(await busy.isClosedByPeer())
    }

    @Test func portInUseIsAnErrorNamingBind() throws {
        let first = HTTPServer(configuration: .init(listen: .tcp(host: "127.0.0.1", port: 0)), responder: testRouter())
        try first.start()
        let second = HTTPServer(configuration: .init(listen: .tcp(host: "127.0.0.1", port: first.port)), responder: testRouter())
        #expect(throws: HTTPServerError.system(call: "bind", errno: EADDRINUSE, address: "127.0.0.1:\(first.port)")) {
            try second.start()
        }
        #expect(throws: HTTPServerError.alreadyStarted) { try first.start() }
        Task { await first.shutdown(deadline: .zero) }
    }

    @Test func staleUnixSocketIsReplacedButLiveOneAndFilesAreNot() async throws {
        let dir = "/tmp/ecd-http-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(dir, 0o700)
        defer { rmdir(dir) }
        let path = dir + "/s.sock"
        // A stale socket file: bound, then its process "died" (closed without unlinking).
        let stale = try SocketAddress.unix(path: path).socket()
        try SocketAddress.unix(path: path).bind(stale)
        close(stale)
        #expect(access(path, F_OK) == 0)

        try await withServer(listen: .unix(path: path)) { server in
            let client = try RawClient(unixPath: path)
            client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
            let rival = HTTPServer(configuration: .init(listen: .unix(path: path)), responder: testRouter())
            #expect(throws: HTTPServerError.system(call: "bind", errno: EADDRINUSE, address: "unix:\(path)")) { try rival.start() }
        }
        #expect(access(path, F_OK) != 0)

        let file = dir + "/plain"
        FileManager.default.createFile(atPath: file, contents: Data("keep".utf8))
        defer { unlink(file) }
        let blocked = HTTPServer(configuration: .init(listen: .unix(path: file)), responder: testRouter())
        #expect(throws: HTTPServerError.self) { try blocked.start() }
        #expect(FileManager.default.contents(atPath: file) == Data("keep".utf8))
    }

    @Test func listenAddressParsing() throws {
        #expect(try ListenAddress(parsing: "127.0.0.1:8080") == .tcp(host: "127.0.0.1", port: 8080))
        #expect(try ListenAddress(parsing: "[::1]:0") == .tcp(host: "::1", port: 0))
        #expect(try ListenAddress(parsing: "localhost:80") == .tcp(host: "localhost", port: 80))
        #expect(try ListenAddress(parsing: "unix:/run/ecd.sock") == .unix(path: "/run/ecd.sock"))
        #expect(ListenAddress.tcp(host: "::1", port: 5).description == "[::1]:5")
        for bad in ["127.0.0.1", "::1:80", "[::1]", "host:99999", ":80", "unix:", "host:x"] {
            #expect(throws: ListenAddress.ParseError.self, "\(bad)") { try ListenAddress(parsing: bad) }
        }
    }

    @Test func localhostBinds() async throws {
        try await withServer(listen: .tcp(host: "localhost", port: 0)) { server in
            let client = try RawClient(port: server.port)
            client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try await client.readResponse().status == 200)
        }
    }
}
