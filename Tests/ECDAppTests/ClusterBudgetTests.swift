import ECDSimulator
import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp

/// Issue 16 item 3: "the Cronofy request budget is one budget for the cluster: N nodes together
/// never exceed `refresh.cronofy_requests_per_minute`". Three real `ecd serve` processes on one
/// real PostgreSQL and one simulator; a refresh storm spread over the three; every call that
/// reaches the simulator is held to one token bucket (the budget's burst plus its rate, over any
/// window). With a budget per process the storm's first instant alone brings two full bursts.
@Suite("One Cronofy request budget for a cluster of ecd serve on PostgreSQL", .serialized)
struct ClusterBudgetTests {
    /// 10 calls a second, bursts of 40 (`RequestBudget.defaultCapacity`).
    static let perMinute = 600
    static let burst = 40
    static let accounts = 60

    @Test("a refresh storm across three nodes stays within one budget")
    func threeNodesShareOneBudget() async throws {
        let server = try PostgresTestServer.start()
        defer { server.destroy() }
        let name = try server.makeDatabase()
        let simulator = try CronofySimulator.startedForTests()
        var folders: [TemporaryFolder] = []
        defer { folders.forEach { $0.remove() } }
        var nodes: [ServeProcess] = []
        for _ in 0..<3 {
            let folder = try TemporaryFolder()
            folders.append(folder)
            nodes.append(try await ServeProcess.start(
                folder: folder, database: folder.url.appendingPathComponent("db/ecd.sqlite").path, simulator: simulator,
                extra: ["ECD_STORAGE_DRIVER": "postgres", "ECD_STORAGE_POSTGRES_URL": server.url(database: name),
                        "ECD_REFRESH_CRONOFY_REQUESTS_PER_MINUTE": String(Self.perMinute),
                        "ECD_AUDIT_PATH": folder.url.appendingPathComponent("audit.log").path],
                without: ["ECD_STORAGE_PATH"]))
        }
        let daemonStart = Date()

        // Setup through the first node only: the other two have drawn nothing, so with a budget
        // per process each would still hold a full burst when the storm starts.
        try await nodes[0].connectServiceAccount()
        let emails = (0..<Self.accounts).map { "storm-\($0)@example.com" }
        let statuses = try await nodes[0].requestAndSettle(emails)
        #expect(statuses.values.allSatisfy { $0 == "active" }, "\(statuses)")

        let stormStart = Date()
        let answers = try await withThrowingTaskGroup(of: Int.self) { group in
            for (index, email) in emails.enumerated() {
                let node = nodes[index % nodes.count]
                group.addTask { try await node.internalAPI("POST", "/v1/accounts/\(email)/refresh", json: nil).status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(answers.allSatisfy { $0 == 200 }, "\(answers)")

        let calls = simulator.control.calls(.any).filter { $0.endpoint != .authorize }
        let storm = calls.filter { $0.receivedAt >= stormStart }
        let refreshes = storm.filter { $0.endpoint == .token && $0.body.contains("refresh_token") }.count
        #expect(refreshes == Self.accounts, "every account refreshed once: \(refreshes)")
        let over = Self.overBudget(calls.map(\.receivedAt).filter { $0 >= daemonStart })
        #expect(over.isEmpty, "over one budget: \(over.prefix(5)) of \(calls.count) calls")

        for node in nodes { #expect(await node.stop() == 0) }
        await simulator.shutdown()
    }

    /// The windows that break a token bucket of `burst` and `perMinute / 60` a second: for every
    /// pair of arrivals i ≤ j, the j − i + 1 calls between them cannot have taken more than
    /// `burst + rate × (t_j − t_i + slack)` tokens. `slack` (0.5 s) is the time a call may spend
    /// between taking its token and reaching the simulator on a loaded machine; one more call
    /// for rounding. Returns "n calls in s seconds" for each window over it.
    static func overBudget(_ arrivals: [Date]) -> [String] {
        let times = arrivals.sorted().map(\.timeIntervalSinceReferenceDate)
        let rate = Double(perMinute) / 60
        var over: [String] = []
        for i in times.indices {
            for j in i..<times.count {
                let count = j - i + 1
                let span = times[j] - times[i]
                if Double(count) > Double(burst) + rate * (span + 0.5) + 1 {
                    over.append(String(format: "%d calls in %.3fs", count, span))
                }
            }
        }
        return over
    }
}
