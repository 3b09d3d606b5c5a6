import ECDSimulator
import Foundation
import Testing
@testable import ECDApp

/// README: "everything shares one request budget so Cronofy's rate limit is never exceeded"
/// (`refresh.cronofy_requests_per_minute`). Checked on a running daemon against what arrives at
/// the simulator, with every kind of caller drawing on the budget at once.
@Suite("One Cronofy request budget for the whole daemon", .serialized)
struct BudgetDaemonTests {
    /// 2 calls a second; the budget's bucket holds a sixth of a minute's worth (at most 40), so
    /// bursts of 20. Low enough that the calls below outrun it within a few seconds.
    static let perMinute = 120
    static let burst = 20

    @Test("account requests, refreshes, token reads and resources share one budget")
    func everyCallerDrawsOnTheSameBudget() async throws {
        let daemonStart = Date()
        try await TestDaemon.run(
            // 600 s tokens: a read asking for 3600 s of validity must refresh first.
            simulator: { $0.tokenLifetime = .seconds(600) },
            configure: { $0.refresh.cronofyRequestsPerMinute = Self.perMinute }
        ) { daemon in
            let serviceAccount = try await daemon.connectServiceAccount()
            let forced = (0..<4).map { "forced-\($0)@example.com" }
            let read = (0..<4).map { "read-\($0)@example.com" }
            let statuses = try await daemon.requestAndSettle(forced + read)
            #expect(statuses.values.allSatisfy { $0 == "active" }, "\(statuses)")

            // Nothing is in flight now: every call arriving from here on took its budget token
            // after `phaseStart`, when the bucket held at most `burst`.
            let phaseStart = Date()
            let fresh = (0..<4).map { "fresh-\($0)@example.com" }
            let resourceCalls = 14
            try await withThrowingTaskGroup(of: (String, Int).self) { group in
                for email in forced {
                    group.addTask { ("refresh \(email)", try await daemon.api("POST", "/v1/accounts/\(email)/refresh").status) }
                }
                for email in read {
                    group.addTask { ("token \(email)", try await daemon.api("GET", "/v1/accounts/\(email)/token?min_validity=3600").status) }
                }
                group.addTask {
                    ("service account token",
                     try await daemon.api("GET", "/v1/service-accounts/\(serviceAccount)/token?min_validity=3600").status)
                }
                for _ in 0..<resourceCalls {
                    group.addTask { ("resources", try await daemon.api("GET", "/v1/service-accounts/\(serviceAccount)/resources").status) }
                }
                group.addTask {
                    let body = "{\"accounts\":[" + fresh.map { "{\"email\":\"\($0)\"}" }.joined(separator: ",") + "]}"
                    return ("request accounts", try await daemon.api("POST", "/v1/accounts", json: body).status)
                }
                for try await (what, status) in group {
                    #expect(status == 200 || status == 202, "\(what): \(status)")
                }
            }
            // The new accounts' code exchanges are calls too (from the inbox worker).
            let settled = try await daemon.settle(fresh, timeout: .seconds(30))
            #expect(settled.values.allSatisfy { $0 == "active" }, "\(settled)")

            // The authorize page is the admin's browser (here the test), not the daemon.
            let calls = daemon.simulator.control.calls(.any).filter { $0.endpoint != .authorize }
            let phase = calls.filter { $0.receivedAt >= phaseStart }
            // Every kind of caller was in the phase.
            let refreshes = phase.filter { $0.endpoint == .token && $0.body.contains("refresh_token") }.count
            let exchanges = phase.filter { $0.endpoint == .token && $0.body.contains("authorization_code") }.count
            #expect(refreshes == forced.count + read.count + 1)
            #expect(exchanges == fresh.count)
            #expect(phase.filter { $0.endpoint == .resources }.count == resourceCalls)
            #expect(phase.filter { $0.endpoint == .authorizations }.count == 1)
            #expect(phase.count > Self.burst + 4, "too few calls to outrun the budget: \(phase.count)")

            #expect(Self.overBudget(phase.map(\.receivedAt), since: phaseStart).isEmpty,
                    "over budget since the phase began: \(Self.overBudget(phase.map(\.receivedAt), since: phaseStart))")
            #expect(Self.overBudget(calls.map(\.receivedAt), since: daemonStart).isEmpty,
                    "over budget since the daemon started: \(Self.overBudget(calls.map(\.receivedAt), since: daemonStart))")
        }
    }

    /// The arrivals that break the budget: with at most `burst` tokens at `start` and
    /// `perMinute / 60` added each second, the k-th call after `start` cannot have taken its
    /// token before `start + (k - burst) / rate`, and it arrives later still. Returns
    /// "k at +seconds" for each arrival earlier than that (10 ms of slack for clock rounding).
    static func overBudget(_ arrivals: [Date], since start: Date) -> [String] {
        let rate = Double(perMinute) / 60
        return arrivals.filter { $0 >= start }.sorted().enumerated().compactMap { index, arrival in
            let elapsed = arrival.timeIntervalSince(start)
            let allowed = Double(burst) + rate * (elapsed + 0.01)
            return Double(index + 1) > allowed ? String(format: "%d at +%.3fs", index + 1, elapsed) : nil
        }
    }
}
