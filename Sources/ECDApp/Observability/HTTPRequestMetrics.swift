import ECDSync
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Prometheus

/// `ecd_http_requests_total` and `ecd_http_request_duration_seconds`, recorded once per response
/// on the event loop's thread. Each thread writes to a shard of its own (picked by its thread id),
/// behind a lock that only a scrape ever contends for; a scrape merges the shards. A response
/// thus costs an uncontended lock, one lookup by listener and route, and a few additions: no
/// registry lookup, no label array, no shared cache line per request.
final class HTTPRequestMetrics: Sendable {
    /// Upper bounds of the histogram's buckets (`le`), in nanoseconds, ascending.
    private let bounds: [Int64]
    private let boundLabels: [String]
    private let shards: [Locked<[SeriesKey: Series]>]

    struct SeriesKey: Hashable, Sendable {
        let listener: String
        let route: String
    }

    /// One listener and route: the responses by method and status, and their latency histogram.
    struct Series: Sendable {
        /// (method, status, count); a route sees a handful of combinations, so a short array
        /// searched in order beats hashing.
        var responses: [(method: String, status: Int, count: Int)] = []
        /// Per bucket (not cumulative); the last is beyond the largest bound (`+Inf` only).
        var buckets: [Int]
        var sumNanoseconds: Int64 = 0
        var count = 0

        init(bucketCount: Int) { buckets = Array(repeating: 0, count: bucketCount + 1) }

        mutating func add(_ other: Series) {
            for response in other.responses { count(method: response.method, status: response.status, by: response.count) }
            for index in buckets.indices { buckets[index] += other.buckets[index] }
            sumNanoseconds &+= other.sumNanoseconds
            count += other.count
        }

        mutating func count(method: String, status: Int, by amount: Int) {
            for index in responses.indices where responses[index].status == status && responses[index].method == method {
                responses[index].count += amount
                return
            }
            responses.append((method, status, amount))
        }
    }

    init(buckets: [Duration], shardCount: Int = 16) {
        bounds = buckets.map { Self.nanoseconds($0) }
        boundLabels = buckets.map(\.bucketRepresentation)
        shards = (0..<shardCount).map { _ in Locked([:]) }
    }

    func record(listener: String, method: String, route: String, status: Int, duration: Duration) {
        let nanoseconds = Self.nanoseconds(duration)
        var bucket = 0
        while bucket < bounds.count, bounds[bucket] < nanoseconds { bucket += 1 }
        let key = SeriesKey(listener: listener, route: route)
        let bucketCount = bounds.count
        shard().withLock { table in
            table[key, default: Series(bucketCount: bucketCount)].record(method: method, status: status,
                                                                        bucket: bucket, nanoseconds: nanoseconds)
        }
    }

    /// The calling thread's shard: loop threads are long-lived, so each keeps to one shard. Thread
    /// ids are addresses a stack apart, so they are mixed (Fibonacci hashing) before taking bits.
    private func shard() -> Locked<[SeriesKey: Series]> {
        let id = UInt64(UInt(bitPattern: Int(bitPattern: pthread_self())))
        let mixed = id &* 0x9E37_79B9_7F4A_7C15
        return shards[Int(mixed >> 32) % shards.count]
    }

    /// Every shard merged, as Prometheus text (the registry's format).
    func emit(into buffer: inout [UInt8]) {
        var merged: [SeriesKey: Series] = [:]
        let bucketCount = bounds.count
        for shard in shards {
            let table = shard.withLock { $0 }
            for (key, series) in table { merged[key, default: Series(bucketCount: bucketCount)].add(series) }
        }
        guard !merged.isEmpty else { return }
        let keys = merged.keys.sorted { ($0.listener, $0.route) < ($1.listener, $1.route) }
        buffer.append(contentsOf: "# HELP ecd_http_requests_total HTTP responses by route and status\n# TYPE ecd_http_requests_total counter\n".utf8)
        for key in keys {
            for response in merged[key]!.responses {
                append(into: &buffer, "ecd_http_requests_total{listener=\"", key.listener, "\",method=\"", response.method,
                       "\",route=\"", key.route, "\",status=\"", String(response.status), "\"} ", String(response.count), "\n")
            }
        }
        buffer.append(contentsOf: "# HELP ecd_http_request_duration_seconds Time from a complete request head to the response written\n# TYPE ecd_http_request_duration_seconds histogram\n".utf8)
        for key in keys {
            let series = merged[key]!
            let labels = "listener=\"\(key.listener)\",route=\"\(key.route)\""
            var cumulative = 0
            for (index, label) in boundLabels.enumerated() {
                cumulative += series.buckets[index]
                append(into: &buffer, "ecd_http_request_duration_seconds_bucket{", labels, ",le=\"", label, "\"} ", String(cumulative), "\n")
            }
            append(into: &buffer, "ecd_http_request_duration_seconds_bucket{", labels, ",le=\"+Inf\"} ", String(series.count), "\n")
            append(into: &buffer, "ecd_http_request_duration_seconds_sum{", labels, "} ",
                   Duration.nanoseconds(series.sumNanoseconds).bucketRepresentation, "\n")
            append(into: &buffer, "ecd_http_request_duration_seconds_count{", labels, "} ", String(series.count), "\n")
        }
    }

    private func append(into buffer: inout [UInt8], _ parts: String...) {
        for part in parts { buffer.append(contentsOf: part.utf8) }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }
}

extension HTTPRequestMetrics.Series {
    mutating func record(method: String, status: Int, bucket: Int, nanoseconds: Int64) {
        count(method: method, status: status, by: 1)
        buckets[bucket] += 1
        sumNanoseconds &+= nanoseconds
        count += 1
    }
}
