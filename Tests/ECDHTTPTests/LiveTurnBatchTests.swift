import ECDSync
import Foundation
import Testing
@testable import ECDHTTP
import ECDTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A synchronous handler's work staged on its loop's turn (`LoopTurn`), over real TCP connections:
/// the response waits for the batch's commit, a failed commit answers every request of its batch
/// with the fallback, and each staged item is committed once.
@Suite("Live server: work batched per loop turn")
struct LiveTurnBatchTests {
    /// What the batches committed: the items of each commit, in order.
    final class Ledger: Sendable {
        let commits = Locked<[[String]]>([])
        let failing = Locked(false)
        /// When set, a commit fires `started` and waits (bounded) for `proceed` before it ends.
        let gate = Locked<(started: TestSignal, proceed: DispatchSemaphore)?>(nil)
        var all: [[String]] { commits.withLock { $0 } }
    }

    final class Batch: TurnBatch {
        let ledger: Ledger
        var items: [String] = []
        init(_ ledger: Ledger) { self.ledger = ledger }
        func commit() -> Bool {
            if let gate = ledger.gate.withLock({ $0 }) {
                gate.started.fire()
                _ = gate.proceed.wait(timeout: .now() + 5)
            }
            let failing = ledger.failing.withLock { $0 }
            if !failing { ledger.commits.withLock { $0.append(items) } }
            return !failing
        }
    }

    static func router(_ ledger: Ledger) -> Router {
        var router = Router()
        router.get("/item/{name}") { _, context in
            let name = try context.parameter("name")
            let turn = try #require(context.turn)
            let batch = turn.batch(for: ledger) { Batch(ledger) }
            batch.items.append(name)
            turn.hold(until: batch, fallback: .text(.serviceUnavailable, "not committed"))
            return .text(.ok, "item \(name)")
        }
        return router
    }

    @Test("a held response leaves only after its batch is committed")
    func heldUntilCommitted() async throws {
        let ledger = Ledger()
        let started = TestSignal()
        let proceed = DispatchSemaphore(value: 0)
        ledger.gate.withLock { $0 = (started, proceed) }
        try await withServer(Self.router(ledger)) { server in
            let client = try RawClient(port: server.port)
            client.send("GET /item/a HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(await started.wait())
            // The commit is under way: loopback delivers what was sent at once, so a response
            // sent before the commit would be readable now.
            var byte: UInt8 = 0
            #expect(recv(client.fd, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK)) < 0 && errno == EAGAIN)
            ledger.gate.withLock { $0 = nil }
            proceed.signal()
            let response = try await client.readResponse()
            #expect(response.status == 200 && response.text == "item a")
        }
        #expect(ledger.all == [["a"]])
    }

    @Test("a failed commit answers every request of its batch with the fallback; the connection goes on")
    func failedCommitFallsBack() async throws {
        let ledger = Ledger()
        try await withServer(Self.router(ledger)) { server in
            ledger.failing.withLock { $0 = true }
            let clients = try (0..<16).map { _ in try RawClient(port: server.port) }
            for (i, client) in clients.enumerated() { client.send("GET /item/f\(i) HTTP/1.1\r\nHost: a\r\n\r\n") }
            for client in clients {
                let response = try await client.readResponse()
                #expect(response.status == 503 && response.text == "not committed")
            }
            ledger.failing.withLock { $0 = false }
            // Pipelined on one connection: each answer in order, each item committed once.
            clients[0].send((0..<5).map { "GET /item/p\($0) HTTP/1.1\r\nHost: a\r\n\r\n" }.joined())
            for i in 0..<5 {
                let response = try await clients[0].readResponse()
                #expect(response.status == 200 && response.text == "item p\(i)")
            }
        }
        #expect(ledger.all.flatMap { $0 } == (0..<5).map { "p\($0)" })
    }

    @Test("requests on many connections: every item committed exactly once, every answer after its commit")
    func manyConnections() async throws {
        let ledger = Ledger()
        try await withServer(Self.router(ledger)) { server in
            let clients = try (0..<32).map { _ in try RawClient(port: server.port) }
            for round in 0..<4 {
                for (i, client) in clients.enumerated() { client.send("GET /item/r\(round)c\(i) HTTP/1.1\r\nHost: a\r\n\r\n") }
                for (i, client) in clients.enumerated() {
                    let response = try await client.readResponse()
                    #expect(response.text == "item r\(round)c\(i)")
                    #expect(ledger.all.contains { $0.contains("r\(round)c\(i)") }, "answered before its commit")
                }
            }
        }
        let items = ledger.all.flatMap { $0 }
        #expect(items.count == 128 && Set(items).count == 128)
    }
}
