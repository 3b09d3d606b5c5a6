import ECDCronofy
import ECDCrypto
import ECDPostgres
import ECDSync
import FoundationEssentials
import Logging

/// The Cronofy request budget of a cluster (issue 16 item 3): every node on one PostgreSQL draws
/// on one token bucket, the `cronofy_budget` row of `ECDCorePostgres.CoreSharedBudget`, so N nodes
/// together keep to `refresh.cronofy_requests_per_minute` where N per-process `RequestBudget`s
/// would send N times as much. Same semantics as `RequestBudget`: a burst of `capacity`, waiters
/// in arrival order (across nodes), `maxWait`, and a 429 penalty that holds back every node,
/// their waiters already asleep included.
///
/// **Cost**: one short statement per request at Cronofy (`ecd_budget_take`, autocommit, the row
/// locked for the function's few microseconds, never across the call). A taker that had to wait
/// reads the penalty once more after its sleep (a 429 seen meanwhile by another node must hold it
/// back): that second statement happens only when the budget is the bottleneck, so at most as
/// often as the budget lets calls through.
///
/// **While PostgreSQL cannot be reached** the node falls back to a local `RequestBudget` of its
/// share, `requestsPerMinute / nodes` (and `capacity / nodes`), where `nodes` is how many nodes drew on the shared budget
/// within the last two minutes (as the last successful take reported; 1 before any): the cluster
/// then still keeps to about the budget, and no call waits on a database that does not answer.
/// Few calls reach the budget then anyway: a refresh, an exchange, a send or a revoke first
/// writes its lease or claim to the database. The first take that succeeds again returns to the
/// shared bucket (which kept refilling meanwhile, capped at `capacity`).
final class PostgresRequestBudget: RequestBudgeting {
    let requestsPerMinute: Int
    let capacity: Int
    let maxWait: Duration
    private let pool: PostgresPool
    private let node: String
    private let logger: Logger
    private let state = Locked(FallbackState())

    private struct FallbackState {
        var nodes = 1
        var local: RequestBudget?
    }

    private struct Grant {
        var wait: Duration
        var taken: Bool
    }

    static let take = "SELECT wait_ms, taken, nodes FROM ecd_budget_take($1, $2, $3, $4)"
    static let penalize = "SELECT ecd_budget_penalize($1, $2, $3)"
    static let penaltyRemaining = """
        SELECT penalty_until - (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS remaining
        FROM cronofy_budget WHERE id = 1
        """
    /// A taker that gives up after sleeping (a penalty reaching past its `maxWait`) hands its
    /// reservation back, as `RequestBudget` does.
    static let giveBack = "UPDATE cronofy_budget SET tokens = tokens + 1 WHERE id = 1"

    /// `burst` overrides the bucket's capacity (tests); by default it is `RequestBudget`'s.
    init(pool: PostgresPool, requestsPerMinute: Int, burst: Int? = nil, maxWait: Duration, logger: Logger) {
        self.pool = pool
        self.requestsPerMinute = max(1, requestsPerMinute)
        capacity = max(1, burst ?? RequestBudget.defaultCapacity(requestsPerMinute: requestsPerMinute))
        self.maxWait = maxWait
        self.logger = logger
        node = (try? SecureRandom.token(byteCount: 9)) ?? UUID().uuidString
    }

    private var perMillisecond: Double { Double(requestsPerMinute) / 60_000 }

    func acquire(within maxWait: Duration) async -> Duration? {
        let start = ContinuousClock.now
        let grant: Grant
        do {
            grant = try await take(maxWait: maxWait)
        } catch {
            return await fallback(after: error).acquire(within: maxWait)
        }
        guard grant.taken else { return nil }
        guard grant.wait > .zero else { return .zero }
        try? await Task.sleep(until: start + grant.wait)
        // A 429 seen by another node while this one slept holds it back too.
        while !Task.isCancelled, let remaining = try? await penaltyRemaining(), remaining > .zero {
            guard start.duration(to: .now) + remaining <= maxWait else {
                _ = try? await pool.asyncRead { try $0.execute(Self.giveBack) }
                return nil
            }
            try? await Task.sleep(for: remaining)
        }
        return start.duration(to: .now)
    }

    func penalize(retryAfter: Duration) async {
        let milliseconds = Int64(max(retryAfter, .zero).timeInterval * 1000)
        do {
            try await pool.asyncRead { [perMillisecond, capacity] connection in
                _ = try connection.query(Self.penalize, [perMillisecond, Double(capacity), milliseconds])
            }
        } catch {
            await fallback(after: error).penalize(retryAfter: retryAfter)
        }
    }

    private func take(maxWait: Duration) async throws -> Grant {
        let limit = Int64(min(maxWait.timeInterval, 86_400) * 1000)
        let row = try await pool.asyncRead { [perMillisecond, capacity, node] connection in
            try connection.queryOne(Self.take, [perMillisecond, Double(capacity), limit, node])
        }
        guard let row else { throw PostgresError(kind: .server, message: "ecd_budget_take answered no row") }
        let nodes: Int64 = try row.get("nodes")
        let wasLocal = state.withLock { state in
            state.nodes = max(1, Int(nodes))
            defer { state.local = nil }
            return state.local != nil
        }
        if wasLocal { logger.notice("the shared Cronofy request budget is reachable again") }
        return Grant(wait: .milliseconds(try row.get("wait_ms") as Int64), taken: try row.get("taken"))
    }

    private func penaltyRemaining() async throws -> Duration {
        let row = try await pool.asyncRead { try $0.queryOne(Self.penaltyRemaining) }
        return .milliseconds((row?.optional("remaining") as Int64?) ?? 0)
    }

    /// The node's share of the budget while the shared one cannot be reached.
    private func fallback(after error: any Error) -> RequestBudget {
        let (budget, started, nodes) = state.withLock { state in
            if let local = state.local { return (local, false, state.nodes) }
            // Rate and burst both divided: the nodes' local buckets together hold no more than the shared one.
            let local = RequestBudget(requestsPerMinute: max(1, requestsPerMinute / state.nodes),
                                      burst: max(1, capacity / state.nodes), maxWait: maxWait)
            state.local = local
            return (local, true, state.nodes)
        }
        if started {
            let reason = (error as? PostgresError).map { PostgresStorage.storageError($0).description } ?? "\(type(of: error))"
            logger.warning("the shared Cronofy request budget cannot be reached; using this node's share until it can",
                           metadata: ["error": "\(reason)", "nodes": "\(nodes)", "per_minute": "\(budget.requestsPerMinute)"])
        }
        return budget
    }
}
