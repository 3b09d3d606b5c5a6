import ECDSimulator
import ECDTestSupport
import Foundation
import Testing
@testable import ECDApp

/// What an operator reads off a real `ecd serve` (its own process, so its metrics registry and
/// log are its own): `/metrics` and the JSON log on standard error.
@Suite("Operator signals of a real ecd serve: /metrics and the JSON log", .serialized)
struct OperatorSignalsTests {
    /// A simulator and an `ecd serve` logging at debug, with a connected service account.
    private func withDaemon(_ body: (ServeProcess) async throws -> Void) async throws {
        let simulator = try CronofySimulator.startedForTests()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        do {
            let daemon = try await ServeProcess.start(
                folder: folder, database: folder.url.appendingPathComponent("db/ecd.sqlite").path,
                simulator: simulator, extra: ["ECD_LOG_LEVEL": "debug"])
            try await daemon.connectServiceAccount()
            try await body(daemon)
            #expect(await daemon.stop() == 0)
        } catch {
            await simulator.shutdown()
            throw error
        }
        await simulator.shutdown()
    }

    private func get(_ daemon: ServeProcess, _ target: String, _ headers: [(String, String)] = []) async throws -> RawResponse {
        try await RawHTTP.send(.tcp(port: daemon.internalPort), "GET", target,
                               headers: [("Authorization", "Bearer \(ServeProcess.apiKey)")] + headers)
    }

    @Test("/metrics: HELP for every metric, plausible process_* values, token reads, cache hits, account counts as of the scrape")
    func metrics() async throws {
        try await withDaemon { daemon in
            let statuses = try await daemon.requestAndSettle(["m1@example.com", "m2@example.com"])
            #expect(statuses.values.allSatisfy { $0 == "active" }, "\(statuses)")
            for _ in 0..<3 { #expect(try await get(daemon, "/v1/accounts/m1@example.com/token").status == 200) }
            // Counted now, not at the last sweep (every 15 s): the revoke shows at the next scrape.
            #expect(try await daemon.internalAPI("DELETE", "/v1/accounts/m2@example.com", json: nil).status == 200)
            let scrape = try await get(daemon, "/metrics")
            #expect(scrape.status == 200)
            let text = scrape.text

            var helped: Set<String> = [], typed: Set<String> = [], sampled: Set<String> = []
            for line in text.split(separator: "\n").map(String.init) {
                let words = line.split(separator: " ", maxSplits: 3).map(String.init)
                if line.hasPrefix("# HELP "), words.count == 4, !words[3].isEmpty { helped.insert(words[2]) }
                if line.hasPrefix("# TYPE "), words.count >= 3 { typed.insert(words[2]) }
                if !line.hasPrefix("#"), let name = line.split(whereSeparator: { $0 == "{" || $0 == " " }).first {
                    var family = String(name)
                    for suffix in ["_bucket", "_sum", "_count"] where family.hasSuffix(suffix) && !typed.contains(family) {
                        family = String(family.dropLast(suffix.count))
                    }
                    sampled.insert(family)
                }
            }
            #expect(!sampled.isEmpty)
            #expect(sampled.subtracting(typed).isEmpty, "samples without # TYPE: \(sampled.subtracting(typed))")
            #expect(typed.subtracting(helped).isEmpty, "metrics without # HELP: \(typed.subtracting(helped).sorted())")
            for name in ["ecd_accounts", "ecd_token_reads_total", "ecd_token_cache_hits_total", "ecd_http_requests_total",
                         "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                         "process_max_fds", "process_start_time_seconds"] {
                #expect(helped.contains(name), "\(name) missing or without # HELP")
            }
            #expect(text.contains("# TYPE process_cpu_seconds_total counter"))

            func value(_ sample: String) -> Double? {
                text.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.flatMap { Double($0.dropFirst(sample.count + 1)) }
            }
            #expect(value(#"ecd_accounts{status="active"}"#) == 1)
            #expect(value(#"ecd_accounts{status="revoked"}"#) == 1)
            #expect(value(#"ecd_token_reads_total{owner="account"}"#) == 3)
            let hits = try #require(value("ecd_token_cache_hits_total"))
            #expect(hits >= 2 && hits <= 3, "cache hits \(hits) of 3 reads of a token cached at authorization")

            let cpu = try #require(value("process_cpu_seconds_total"))
            #expect(cpu > 0 && cpu < 3600)
            let resident = try #require(value("process_resident_memory_bytes"))
            #expect(resident > 1_000_000 && resident < 4_000_000_000)
            let open = try #require(value("process_open_fds")), max = try #require(value("process_max_fds"))
            #expect(open >= 3 && open < max && max >= 64, "open \(open), max \(max)")
            let started = try #require(value("process_start_time_seconds"))
            let now = Date().timeIntervalSince1970
            #expect(started > now - 600 && started <= now + 1, "start time \(started), now \(now)")
        }
    }

    @Test("JSON log: numbers stay numbers, X-Request-Id is kept and echoed (or replaced), traceparent logged, token reads at debug")
    func jsonLog() async throws {
        try await withDaemon { daemon in
            try await daemon.requestAndSettle(["l1@example.com"])
            let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            let read = try await get(daemon, "/v1/accounts/l1@example.com", [("X-Request-Id", "op-req-0001"), ("traceparent", traceparent)])
            #expect(read.status == 200)
            #expect(read.header("X-Request-Id") == "op-req-0001")
            let token = try await get(daemon, "/v1/accounts/l1@example.com/token", [("X-Request-Id", "op-token-0001"), ("traceparent", "00-zz-bad")])
            #expect(token.status == 200)

            let maximal = String(repeating: "a", count: 64)
            #expect(try await get(daemon, "/healthz", [("X-Request-Id", maximal)]).header("X-Request-Id") == maximal)
            for invalid in [String(repeating: "a", count: 65), "has space", "tab\tinside", ""] {
                let answer = try await get(daemon, "/healthz", [("X-Request-Id", invalid)])
                let id = try #require(answer.header("X-Request-Id"))
                #expect(id != invalid && id.wholeMatch(of: /[0-9a-z]{6,15}/) != nil, "\(invalid) → \(id)")
            }
            let publicAnswer = try await RawHTTP.send(.tcp(port: daemon.publicPort), "GET", "/healthz", headers: [("X-Request-Id", "edge-7f3a")])
            #expect(publicAnswer.header("X-Request-Id") == "edge-7f3a")

            func line(_ id: String) async throws -> [String: Any] {
                let text = try await daemon.process.waitForError { $0.contains(#""request_id":"\#(id)""#) }
                return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            }
            let fields = try await line("op-req-0001")
            #expect(fields["level"] as? String == "info")
            #expect(fields["status"] as? Int == 200, "status is \(String(describing: fields["status"]))")
            #expect(fields["status"] as? String == nil)
            #expect(fields["bytes"] as? Int == read.body.count)
            let duration = try #require(fields["duration_ms"] as? Double, "duration_ms is \(String(describing: fields["duration_ms"]))")
            #expect(duration >= 0 && duration < 10_000)
            #expect(fields["traceparent"] as? String == traceparent)
            #expect(fields["route"] as? String == "/v1/accounts/{email}")

            let tokenFields = try await line("op-token-0001")
            #expect(tokenFields["level"] as? String == "debug")
            #expect(tokenFields["traceparent"] == nil)
            #expect(try await line("edge-7f3a")["listener"] as? String == "public")
        }
    }
}
