/// One Cronofy request budget for every node of a cluster (issue 16 item 3):
/// `refresh.cronofy_requests_per_minute` is Cronofy's limit for the application, not for a
/// process, so nodes sharing a PostgreSQL draw on one token bucket kept in one row.
///
/// The bucket is `RequestBudget`'s (ECDCronofy), moved into the database: `tokens` refill at
/// `per_ms` up to `capacity`, a taker reserves before it sleeps (tokens may go negative, which
/// keeps the queue in order across nodes), and a 429 sets `penalty_until`, empties the bucket and
/// holds its refill until then. Time is the server's clock (`clock_timestamp()`), so the nodes'
/// clocks need not agree; a node sleeps the wait it is told on its own monotonic clock, which can
/// only make it later than the server meant.
///
/// Each take is one statement (`SELECT … FROM ecd_budget_take(...)`, run by ECDCore's
/// `PostgresRequestBudget`) in autocommit: the function
/// locks the row, refills, reserves and writes it back, so the row is held for microseconds and
/// never across a call to Cronofy. It also keeps `cronofy_budget_nodes` (a row per node, touched
/// at most every 15 s) and answers how many nodes drew on the budget within two minutes: the
/// share a node falls back to while PostgreSQL cannot be reached (`PostgresRequestBudget`).
///
/// PostgreSQL only: SQLite has one process, whose `RequestBudget` is the whole budget. The tables
/// are left out of the schema comparison with SQLite by name (`postgresOnlyTables`).
public enum CoreSharedBudget {
    static let tables = ["cronofy_budget", "cronofy_budget_nodes"]

    static var version3: [String] {
        [
            """
            CREATE TABLE cronofy_budget (
                id BIGINT PRIMARY KEY CHECK (id = 1),
                tokens DOUBLE PRECISION,
                refilled_at BIGINT NOT NULL DEFAULT 0,
                penalty_until BIGINT NOT NULL DEFAULT 0
            )
            """,
            // tokens NULL: nobody took yet; the first taker starts the bucket full, as a process does.
            "INSERT INTO cronofy_budget (id, tokens, refilled_at, penalty_until) VALUES (1, NULL, 0, 0)",
            "CREATE TABLE cronofy_budget_nodes (node TEXT PRIMARY KEY, seen_at BIGINT NOT NULL)",
            """
            CREATE FUNCTION ecd_budget_refill(b INOUT cronofy_budget, p_per_ms DOUBLE PRECISION,
                                              p_capacity DOUBLE PRECISION, now_ms BIGINT)
            LANGUAGE plpgsql AS $$
            BEGIN
                IF b.tokens IS NULL THEN
                    b.tokens := p_capacity;
                    b.refilled_at := now_ms;
                ELSIF now_ms > b.refilled_at THEN
                    b.tokens := least(p_capacity, b.tokens + (now_ms - b.refilled_at) * p_per_ms);
                    b.refilled_at := now_ms;
                END IF;
            END
            $$
            """,
            """
            CREATE FUNCTION ecd_budget_take(p_per_ms DOUBLE PRECISION, p_capacity DOUBLE PRECISION,
                                            p_max_wait BIGINT, p_node TEXT,
                                            OUT wait_ms BIGINT, OUT taken BOOLEAN, OUT nodes BIGINT)
            LANGUAGE plpgsql AS $$
            DECLARE
                b cronofy_budget;
                now_ms BIGINT;
            BEGIN
                SELECT * INTO b FROM cronofy_budget WHERE id = 1 FOR UPDATE;
                -- Read after the lock: time spent queueing for the row counts as refill.
                now_ms := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
                b := ecd_budget_refill(b, p_per_ms, p_capacity, now_ms);
                -- Until refilled_at (in the future after a penalty) nothing accrues; after it the
                -- deficit takes deficit / rate to refill.
                wait_ms := greatest(b.refilled_at - now_ms, 0);
                IF b.tokens < 1 THEN
                    wait_ms := wait_ms + ceil((1 - b.tokens) / p_per_ms)::bigint;
                END IF;
                wait_ms := greatest(wait_ms, b.penalty_until - now_ms);
                taken := wait_ms <= p_max_wait;
                IF taken THEN
                    b.tokens := b.tokens - 1;
                END IF;
                UPDATE cronofy_budget SET tokens = b.tokens, refilled_at = b.refilled_at WHERE id = 1;
                IF NOT EXISTS (SELECT 1 FROM cronofy_budget_nodes WHERE node = p_node AND seen_at > now_ms - 15000) THEN
                    INSERT INTO cronofy_budget_nodes (node, seen_at) VALUES (p_node, now_ms)
                        ON CONFLICT (node) DO UPDATE SET seen_at = EXCLUDED.seen_at;
                    DELETE FROM cronofy_budget_nodes WHERE seen_at < now_ms - 86400000;
                END IF;
                SELECT count(*) INTO nodes FROM cronofy_budget_nodes WHERE seen_at > now_ms - 120000;
            END
            $$
            """,
            """
            CREATE FUNCTION ecd_budget_penalize(p_per_ms DOUBLE PRECISION, p_capacity DOUBLE PRECISION,
                                                p_retry_ms BIGINT) RETURNS void
            LANGUAGE plpgsql AS $$
            DECLARE
                b cronofy_budget;
                now_ms BIGINT;
                until_ms BIGINT;
            BEGIN
                SELECT * INTO b FROM cronofy_budget WHERE id = 1 FOR UPDATE;
                now_ms := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
                b := ecd_budget_refill(b, p_per_ms, p_capacity, now_ms);
                until_ms := now_ms + greatest(p_retry_ms, 0);
                -- The queue behind the penalty restarts from an empty bucket, so it does not
                -- burst out at once when the penalty ends.
                UPDATE cronofy_budget SET penalty_until = greatest(penalty_until, until_ms),
                    tokens = least(b.tokens, 0), refilled_at = greatest(b.refilled_at, until_ms)
                WHERE id = 1;
            END
            $$
            """,
        ]
    }
}
