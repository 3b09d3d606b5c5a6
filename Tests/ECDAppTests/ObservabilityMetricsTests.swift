import ECDHTTP
import Foundation
import Metrics
import Testing
@testable import ECDApp

@Suite("Metrics")
struct ObservabilityMetricsTests {
    /// The series line of `name` whose labels include every pair of `labels`.
    func series(_ text: String, _ name: String, _ labels: [String]) -> String? {
        text.split(separator: "\n").map(String.init).first { line in
            line.hasPrefix(name + "{") && labels.allSatisfy { line.contains($0) }
        }
    }

    @Test("HTTP requests are counted by route and status, with a latency histogram")
    func httpMetrics() throws {
        let route = "/test/\(UUID().uuidString)"
        ECDMetrics.recordHTTPRequest(listener: "internal", method: "GET", route: route, status: 200, duration: .milliseconds(3))
        ECDMetrics.recordHTTPRequest(listener: "internal", method: "GET", route: route, status: 200, duration: .milliseconds(30))
        ECDMetrics.recordHTTPRequest(listener: "internal", method: "GET", route: route, status: 404, duration: .microseconds(100))
        let text = ECDMetrics.render()
        #expect(text.contains("# TYPE ecd_http_requests_total counter"))
        #expect(text.contains("# HELP ecd_http_requests_total"))
        let ok = try #require(series(text, "ecd_http_requests_total", ["route=\"\(route)\"", "status=\"200\"", "listener=\"internal\"", "method=\"GET\""]))
        #expect(ok.hasSuffix(" 2"))
        #expect(series(text, "ecd_http_requests_total", ["route=\"\(route)\"", "status=\"404\""])?.hasSuffix(" 1") == true)
        #expect(text.contains("# TYPE ecd_http_request_duration_seconds histogram"))
        let count = try #require(series(text, "ecd_http_request_duration_seconds_count", ["route=\"\(route)\""]))
        #expect(count.hasSuffix(" 3"))
        let bucket = try #require(series(text, "ecd_http_request_duration_seconds_bucket", ["route=\"\(route)\"", "le=\"0.005\""]))
        #expect(bucket.hasSuffix(" 2"))
        // The registry is process-wide and other tests record into it concurrently, so two renders
        // may straddle a write: compare a few times; a real difference between the two renderings
        // shows up on every attempt.
        // The process_* samples are read afresh by each render (open descriptors, CPU time move
        // with every test running beside this one): compare the registry's part.
        func registryPart(_ text: String) -> [Substring] { text.split(separator: "\n").filter { !$0.hasPrefix("process_") } }
        let same = (0..<50).contains { _ in
            registryPart(String(decoding: ECDMetrics.renderBytes(), as: UTF8.self)) == registryPart(ECDMetrics.render())
        }
        #expect(same, "renderBytes() and render() differ")
        let bytesText = String(decoding: ECDMetrics.renderBytes(), as: UTF8.self)
        #expect(series(bytesText, "ecd_http_requests_total", ["route=\"\(route)\"", "status=\"200\""]) == ok)
    }

    /// Each thread records into a shard of its own; a scrape must see the sum of all of them.
    @Test("responses recorded on many threads at once are all counted at scrape")
    func httpMetricsMergeAcrossThreads() throws {
        let route = "/test/\(UUID().uuidString)"
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<500 {
                ECDMetrics.recordHTTPRequest(listener: "internal", method: "GET", route: route, status: 200, duration: .milliseconds(3))
            }
        }
        let text = ECDMetrics.render()
        #expect(series(text, "ecd_http_requests_total", ["route=\"\(route)\"", "status=\"200\""])?.hasSuffix(" 4000") == true)
        #expect(series(text, "ecd_http_request_duration_seconds_count", ["route=\"\(route)\""])?.hasSuffix(" 4000") == true)
        #expect(series(text, "ecd_http_request_duration_seconds_bucket", ["route=\"\(route)\"", "le=\"0.002\""])?.hasSuffix(" 0") == true)
        #expect(series(text, "ecd_http_request_duration_seconds_bucket", ["route=\"\(route)\"", "le=\"0.005\""])?.hasSuffix(" 4000") == true)
    }

    @Test("the onResponse shape records the route pattern, never the raw path")
    func onResponseShape() throws {
        let listener = "l\(UInt32.random(in: 0...UInt32.max))"
        let context = RequestContext(requestID: "r1", listenerName: listener)
        ECDMetrics.recordResponse(nil, HTTPResponse(status: .notFound), context, .milliseconds(1))
        let text = ECDMetrics.render()
        let line = try #require(series(text, "ecd_http_requests_total", ["listener=\"\(listener)\""]))
        #expect(line.contains("route=\"unmatched\""))
        #expect(line.contains("method=\"other\""))
    }

    @Test("Cronofy calls are counted by endpoint and outcome")
    func cronofyMetrics() throws {
        let endpoint = "e\(UInt32.random(in: 0...UInt32.max))"
        ECDMetrics.recordCronofyCall(endpoint: endpoint, outcome: "ok", duration: .milliseconds(80))
        ECDMetrics.recordCronofyCall(endpoint: endpoint, outcome: "429", duration: .milliseconds(5))
        let text = ECDMetrics.render()
        #expect(series(text, "ecd_cronofy_requests_total", ["endpoint=\"\(endpoint)\"", "outcome=\"ok\""])?.hasSuffix(" 1") == true)
        #expect(series(text, "ecd_cronofy_request_duration_seconds_count", ["endpoint=\"\(endpoint)\""])?.hasSuffix(" 2") == true)
    }

    @Test("time waited for the Cronofy request budget is a histogram by endpoint")
    func budgetWaitMetrics() throws {
        let endpoint = "e\(UInt32.random(in: 0...UInt32.max))"
        ECDMetrics.recordBudgetWait(endpoint: endpoint, waited: .zero)
        ECDMetrics.recordBudgetWait(endpoint: endpoint, waited: .milliseconds(300))
        let text = ECDMetrics.render()
        #expect(series(text, "ecd_cronofy_budget_wait_seconds_count", ["endpoint=\"\(endpoint)\""])?.hasSuffix(" 2") == true)
    }

    @Test("after bootstrap, swift-metrics counters land in the same registry")
    func swiftMetricsBridge() {
        ECDMetrics.bootstrap()
        let name = "ecd_test_bridge_\(UInt32.random(in: 0...UInt32.max))"
        Metrics.Counter(label: name, dimensions: [("kind", "x")]).increment(by: 5)
        #expect(ECDMetrics.render().contains("\(name){kind=\"x\"} 5"))
        #expect(ECDMetrics.render().contains("ecd_build_info{version=\"\(ECDVersion.current)\"} 1"))
        #expect(ECDMetrics.bootstrap() == false)
    }
}
