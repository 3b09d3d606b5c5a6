import Dispatch
@testable import ECDCore
import ECDPostgres
import Foundation
import Testing

/// Two `PostgresStorage` instances on one database, each with a pool of its own (two nodes),
/// race every claim the flows make; in every round exactly one may win (issue 16 item 2). The
/// claims that read and then write (the inbox claim, the unsent-request scan) meet at a barrier
/// between their read and their write, so the race is not left to timing: a driver that did not
/// lock what it read lets both through the barrier with the same row. The barrier's wait is
/// bounded: with row locks the second side never gets the row and does not hold the first.
@Suite("Two nodes racing the claims on PostgreSQL", .serialized)
struct ClaimRaceTests {
    static let rounds = 20

    /// Two nodes on a fresh database.
    final class Nodes: Sendable {
        let pools: [PostgresPool]
        let storages: [PostgresStorage]
        let fixture: StorageFixture

        init() throws {
            fixture = try StorageFixture(.postgres)
            pools = [try fixture.postgresPool()!, try fixture.postgresPool()!]
            storages = pools.map { PostgresStorage(pool: $0) }
            // The service account every request names (a foreign key).
            try pools[0].write { connection in
                try PostgresStore(connection: connection, locking: true).upsertServiceAccount(
                    ServiceAccountWrite(id: "sa", email: nil, domain: nil, provider: nil, label: nil, scope: "read_events",
                                        delegatedScope: "read_events", accessToken: [1], refreshToken: [2], keyID: "k1",
                                        expiresAt: Date().addingTimeInterval(3600), now: Date()))
            }
        }

        func close() {
            pools.forEach { $0.close() }
            fixture.destroy()
        }

        /// Runs `body(node)` on both nodes at once; the results in node order.
        func race<T: Sendable>(_ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
            try await withThrowingTaskGroup(of: (Int, T).self) { group in
                for node in 0..<2 { group.addTask { (node, try await body(node)) } }
                var results: [(Int, T)] = []
                for try await result in group { results.append(result) }
                return results.sorted { $0.0 < $1.0 }.map(\.1)
            }
        }
    }

    /// Both sides signal after their read and wait (bounded) for the other's read.
    final class Barrier: Sendable {
        let arrived = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
        func meet(_ node: Int) {
            arrived[node].signal()
            _ = arrived[1 - node].wait(timeout: .now() + .milliseconds(500))
        }
    }

    static func request(_ n: Int, now: Date) -> RequestWrite {
        RequestWrite(email: "race\(n)@example.com", emailKey: "race\(n)@example.com", scope: "read_events",
                     serviceAccountID: "sa", requestID: "req-\(n)-\(UUID().uuidString)", stateHash: Array("s\(n)".utf8),
                     sendDeadline: now, now: now)
    }

    @Test func inboxClaim() async throws {
        let nodes = try Nodes()
        defer { nodes.close() }
        let now = Date()
        for round in 0..<Self.rounds {
            let inboxID = try await nodes.storages[0].transaction { transaction -> Int64 in
                let write = Self.request(round, now: now)
                let row = try transaction.writeRequest(write).rowID
                try transaction.insertInbox(IntakeItem(requestID: write.requestID, stateHash: nil, signed: true,
                                                       contentHash: Array("c\(round)".utf8), codeEnvelope: [1, 2, 3], error: nil),
                                            accountRow: row, now: now)
                return try #require(transaction.dueInboxRows(now: now, limit: 1).first)
            }
            let barrier = Barrier()
            let wins = try await nodes.race { node in
                try await nodes.storages[node].transaction { transaction -> Bool in
                    let row = try transaction.openInboxRow(id: inboxID, now: Date())
                    barrier.meet(node)
                    guard row != nil else { return false }
                    try transaction.markExchanging(id: inboxID, holder: "node\(node)", until: Date().addingTimeInterval(120), now: Date())
                    return true
                }
            }
            #expect(wins.filter { $0 }.count == 1, "round \(round): \(wins)")
            // A late claim (after the winner's commit) finds the row no longer due.
            let late = try await nodes.storages[1].transaction { try $0.openInboxRow(id: inboxID, now: Date()) != nil }
            #expect(!late)
        }
    }

    /// A cluster lease (`cluster_leases`, for the once-per-cluster jobs) is held by one node at a
    /// time; its holder extends it, and another takes it only once it has run out (a dead node).
    @Test func clusterLeaseHasOneHolder() async throws {
        let nodes = try Nodes()
        defer { nodes.close() }
        for round in 0..<Self.rounds {
            let name = "job-\(round)"
            let barrier = Barrier()
            let wins = try await nodes.race { node in
                try await nodes.storages[node].transaction { transaction -> Bool in
                    barrier.meet(node)
                    return try transaction.acquireClusterLease(name, holder: "node\(node)", until: Date().addingTimeInterval(60),
                                                               now: Date())
                }
            }
            #expect(wins.filter { $0 }.count == 1, "round \(round): \(wins)")
            let holder = try #require(wins.firstIndex(of: true))
            let other = 1 - holder
            // The holder renews; the other cannot take a live lease…
            #expect(try await nodes.storages[holder].transaction {
                try $0.acquireClusterLease(name, holder: "node\(holder)", until: Date().addingTimeInterval(-1), now: Date())
            })
            // …but takes it once it has run out (renewed into the past above: its node is "dead").
            #expect(try await nodes.storages[other].transaction {
                try $0.acquireClusterLease(name, holder: "node\(other)", until: Date().addingTimeInterval(60), now: Date())
            })
            #expect(try await !nodes.storages[holder].transaction {
                try $0.acquireClusterLease(name, holder: "node\(holder)", until: Date().addingTimeInterval(60), now: Date())
            })
        }
    }

    @Test func unsentRequestsAreClaimedOnce() async throws {
        let nodes = try Nodes()
        defer { nodes.close() }
        let now = Date().addingTimeInterval(-1)
        for round in 0..<Self.rounds {
            let rows = try await nodes.storages[0].transaction { transaction -> [Int64] in
                try (0..<5).map { index in
                    let row = try transaction.writeRequest(Self.request(round * 10 + index, now: now)).rowID
                    try transaction.attachRequestState(rowID: row, sealedState: [9], callbackURL: "http://x/cb", attempt: 1)
                    return row
                }
            }
            let barrier = Barrier()
            let claimed = try await nodes.race { node in
                try await nodes.storages[node].transaction { transaction -> [Int64] in
                    let due = try transaction.unsentRequests(now: Date(), limit: 100)
                    barrier.meet(node)
                    for request in due {
                        try transaction.claimSend(rowID: request.rowID, renewal: request.renewal, until: Date().addingTimeInterval(60))
                    }
                    return due.map(\.rowID)
                }
            }
            let all = claimed.flatMap { $0 }
            #expect(all.count == Set(all).count, "round \(round): a request claimed by both nodes: \(claimed)")
            #expect(Set(all) == Set(rows), "round \(round): every due request claimed once: \(claimed)")
        }
    }

    @Test func acquireLease() async throws {
        let nodes = try Nodes()
        defer { nodes.close() }
        let now = Date()
        for round in 0..<Self.rounds {
            let row = try await nodes.storages[0].transaction { try $0.writeRequest(Self.request(round, now: now)).rowID }
            let wins = try await nodes.race { node in
                try await nodes.storages[node].transaction { transaction in
                    try transaction.acquireLease(.account(row), holder: "node-\(node)", until: Date().addingTimeInterval(60), now: Date())
                }
            }
            #expect(wins.filter { $0 }.count == 1, "round \(round): \(wins)")
        }
    }

    @Test func spendConnectLink() async throws {
        let nodes = try Nodes()
        defer { nodes.close() }
        for round in 0..<Self.rounds {
            let hash = Array("link-\(round)".utf8)
            try await nodes.storages[0].transaction { transaction in
                try transaction.insertConnectLink(ConnectLinkWrite(tokenHash: hash, label: nil, scope: "read_events",
                                                                   delegatedScope: "read_events",
                                                                   expiresAt: Date().addingTimeInterval(600), createdAt: Date()))
            }
            let wins = try await nodes.race { node in
                try await nodes.storages[node].transaction { try $0.spendConnectLink(hash: hash, now: Date()) != nil }
            }
            #expect(wins.filter { $0 }.count == 1, "round \(round): \(wins)")
        }
    }

    @Test func spendOAuthState() async throws {
        let nodes = try Nodes()
        defer { nodes.close() }
        for round in 0..<Self.rounds {
            let hash = Array("state-\(round)".utf8)
            try await nodes.storages[0].transaction { transaction in
                try transaction.insertOAuthState(OAuthStateWrite(stateHash: hash, nonceHash: [1], linkHash: [2], label: nil,
                                                                 scope: "read_events", delegatedScope: "read_events",
                                                                 expiresAt: Date().addingTimeInterval(600), createdAt: Date()))
            }
            let wins = try await nodes.race { node in
                try await nodes.storages[node].transaction { try $0.spendOAuthState(hash: hash, now: Date()) }
            }
            #expect(wins.filter { $0 }.count == 1, "round \(round): \(wins)")
        }
    }
}
