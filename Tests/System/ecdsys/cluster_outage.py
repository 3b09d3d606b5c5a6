"""PostgreSQL stopped for 5 s under the running cluster (issue 16 item 3): cached valid tokens are
still served, writes answer 503 with Retry-After, /readyz is 503, and when the server is back every
node is ready again by itself, writes work, and nothing written before is lost."""
import time

from .accounts import all_accounts, wait_for_statuses
from .procs import wait_until

OUTAGE_SECONDS = 5


def database_counts(cluster):
    """Rows the outage must not lose, read by psql beside the nodes."""
    return {table: int(cluster.postgres.value(f"SELECT count(*) FROM {table}"))
            for table in ("accounts", "service_accounts", "events")}


def run(cluster, report, email, new_email):
    nodes = range(len(cluster.nodes))
    cluster.current = 0
    tokens = [cluster.api_on(i, "GET", f"/v1/accounts/{email}/token") for i in nodes]
    cached = {t.json().get("access_token") for t in tokens if t.status == 200}
    if len(cached) != 1 or any(t.status != 200 for t in tokens):
        report.check("outage: every node serves the account's token before the stop", False,
                     " | ".join(t.describe(120) for t in tokens))
        return
    before_active = {a["email"].lower() for a in all_accounts(cluster, status="active")}
    before_rows = database_counts(cluster)

    stopped_at = time.monotonic()
    status = cluster.postgres.stop()
    report.check("PostgreSQL stops (fast shutdown, the nodes' sessions cut)", status == 0, f"exit status {status}")

    def readyz(i):
        return cluster.api_on(i, "GET", "/readyz")
    unready = wait_until(lambda: all(readyz(i).status == 503 for i in nodes), OUTAGE_SECONDS - 1, interval=0.1)
    report.check(f"while PostgreSQL is away: /readyz 503 on every node ({time.monotonic() - stopped_at:.1f} s after the stop)",
                 unready, " | ".join(readyz(i).describe(160) for i in nodes))
    served = [cluster.api_on(i, "GET", f"/v1/accounts/{email}/token") for i in nodes]
    report.check("while PostgreSQL is away: every node still serves the cached valid token (200)",
                 all(s.status == 200 and s.json().get("access_token") in cached for s in served),
                 " | ".join(s.describe(160) for s in served))
    writes = [cluster.api_on(i, "POST", "/v1/accounts", json_body={"email": f"outage-{i}@example.com"}) for i in nodes]
    report.check("while PostgreSQL is away: a write on every node is 503 storage_unavailable with Retry-After",
                 all(w.status == 503 and w.header("Retry-After") and "storage_unavailable" in w.text for w in writes),
                 " | ".join(f"{w.describe(160)} Retry-After={w.header('Retry-After')}" for w in writes))
    down_for = time.monotonic() - stopped_at
    # The outage lasts its 5 s (what the issue specifies), however fast the checks above ran.
    if down_for < OUTAGE_SECONDS:
        time.sleep(OUTAGE_SECONDS - down_for)

    cluster.postgres.start()
    back_at = time.monotonic()
    ready = wait_until(lambda: all(readyz(i).status == 200 for i in nodes), 60, interval=0.2)
    report.check(f"PostgreSQL back: every node answers /readyz 200 by itself ({time.monotonic() - back_at:.1f} s after its start)",
                 ready, " | ".join(readyz(i).describe(160) for i in nodes))
    after_rows = database_counts(cluster)
    after_active = {a["email"].lower() for a in all_accounts(cluster, status="active")}
    report.check("nothing written before the outage is lost: row counts kept, every active account still active",
                 all(after_rows[t] >= before_rows[t] for t in before_rows) and before_active <= after_active,
                 f"rows before {before_rows}, after {after_rows}; {len(before_active - after_active)} no longer active")
    write = cluster.api_on(2, "POST", "/v1/accounts", json_body={"email": new_email})
    cluster.current = 1
    settled = wait_for_statuses(cluster, [new_email], timeout=60).get(new_email, {})
    token = cluster.api_on(0, "GET", f"/v1/accounts/{email}/token")
    report.check("after the outage: a request on node 3 is 202 and ends active through nginx; tokens still served",
                 write.status == 202 and settled.get("status") == "active" and token.status == 200,
                 f"{write.describe(160)}; status {settled.get('status')}; token {token.describe(120)}")
