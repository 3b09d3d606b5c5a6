import Foundation
import Testing
@testable import ECDHTTP
import ECDTestSupport

/// What a drain tells clients and the operator: a request that arrives during it gets the
/// listener's `drainingResponse`, and the report names what the deadline cut.
@Suite("Live server: draining")
struct LiveDrainTests {
    @Test func aRequestArrivingDuringTheDrainGetsTheDrainingResponse() async throws {
        var configuration = HTTPServerConfiguration(name: "internal", listen: .tcp(host: "127.0.0.1", port: 0))
        var headers = HTTPHeaders()
        headers.add(name: "Retry-After", value: "5")
        configuration.drainingResponse = HTTPResponse(status: .serviceUnavailable, headers: headers,
                                                      body: Array("draining".utf8))
        let (refused, finished, report) = try await Self.lateRequestDuringADrain(configuration)
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "5")
        #expect(refused.header("Connection") == "close")
        #expect(refused.text == "draining")
        // The request that was already running still finishes normally.
        #expect(finished.text == "slow 1500")
        #expect(report == DrainReport(cut: []))
    }

    @Test func withoutADrainingResponseALateRequestIsStillServed() async throws {
        let (served, finished, _) = try await Self.lateRequestDuringADrain(.init(listen: .tcp(host: "127.0.0.1", port: 0)))
        #expect(served.status == 200)
        #expect(served.header("Connection") == "close")
        #expect(finished.text == "slow 1500")
    }

    /// A request in flight keeps the drain going; a second connection has sent half a request
    /// before the drain (so the drain keeps it) and finishes it during the drain. Returns the late
    /// request's answer, the in-flight one's, and the drain's report.
    static func lateRequestDuringADrain(_ configuration: HTTPServerConfiguration) async throws
        -> (late: RawResponse, inFlight: RawResponse, report: DrainReport) {
        let server = HTTPServer(configuration: configuration, responder: testRouter())
        try server.start()
        let busy = try RawClient(port: server.port)
        busy.send("GET /slow?ms=1500 HTTP/1.1\r\nHost: a\r\n\r\n")
        try await waitUntil(server) { $0.phase == .handling }
        let late = try RawClient(port: server.port)
        late.send("GET /hello HTTP/1.1\r\nHo")
        try await waitUntil(server) { $0.parser.hasPartialHead || !$0.input.isEmpty }
        async let stopped = server.shutdown(deadline: .seconds(10))
        try await waitUntilDraining(server)
        late.send("st: a\r\n\r\n")
        let lateAnswer = try await late.readResponse()
        let inFlight = try await busy.readResponse()
        return (lateAnswer, inFlight, await stopped)
    }

    @Test func theReportNamesTheRequestsTheDeadlineCut() async throws {
        let server = HTTPServer(configuration: .init(listen: .tcp(host: "127.0.0.1", port: 0)), responder: testRouter())
        try server.start()
        let busy = try RawClient(port: server.port)
        busy.send("GET /slow?ms=5000 HTTP/1.1\r\nHost: a\r\n\r\n")
        try await Self.waitUntil(server) { $0.phase == .handling }
        let report = await server.shutdown(deadline: .milliseconds(200))
        // The path without its query (a query may carry codes).
        #expect(report.cut == ["GET /slow"])
        #expect(await busy.isClosedByPeer())
    }

    @Test func loopsAnswerReturnsWhileTheLoopsRun() async throws {
        try await withServer { server in
            await server.loopsAnswer()
        }
    }

    /// Polls the server's connections on their loops until one satisfies `condition`: a readiness
    /// signal instead of a sleep, so a loaded machine cannot reorder the steps.
    static func waitUntil(_ server: HTTPServer, _ condition: @escaping @Sendable (HTTPConnection) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            for loop in server.group.loops {
                let core = server.core
                let found = await loop.submit {
                    loop.allHandlers().contains { ($0 as? HTTPConnection).map { $0.core === core && condition($0) } ?? false }
                }
                if found { return }
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("the server never reached the expected connection state")
        throw CancellationError()
    }

    static func waitUntilDraining(_ server: HTTPServer) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !server.core.isDraining {
            try #require(ContinuousClock.now < deadline, "the drain never began")
            try await Task.sleep(for: .milliseconds(2))
        }
        // The drain pass over the loops runs right after the flag: let it finish before going on.
        await server.loopsAnswer()
    }
}
