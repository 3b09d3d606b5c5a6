"""Cluster benchmark (issue 16 item 5), run by scripts/bench-cluster.sh: a private PostgreSQL
started here (initdb + the server as our child, as the cluster system test does), then
  1. the token route (cache hits) on a PostgreSQL node vs a SQLite node, alternating, best of N;
  2. durable callbacks per second on each driver (callback_bench's signed error callbacks);
  3. a refresh storm: every account refreshed once, spread over three nodes on one PostgreSQL,
     with the cluster's one Cronofy budget: the calls at the simulator per window, and the time
     to drain.
Prints Markdown for docs/benchmarks.md. Python stdlib only."""
import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "System"))

from callback_bench import post_callbacks  # noqa: E402
from ecdstack import Stack, free_port, request  # noqa: E402
from ecdsys.pgserver import PostgresServer  # noqa: E402
from ecdsys.procs import wait_until  # noqa: E402
from measure import wrk  # noqa: E402


class DurablePostgresServer(PostgresServer):
    """The system test's server, but durable as a production one is (fsync, synchronous commit,
    full page writes on): the callbacks' 200 means committed to disk on both drivers."""

    def start(self):
        self.starts += 1
        self.procs.start("postgres", [
            *self.prefix, os.path.join(self.bin, "postgres"), "-D", self.data, "-p", str(self.port),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
            "-c", "shared_buffers=64MB", "-c", "max_connections=60",
        ], log_name=f"postgres-{self.starts}", cwd=self.directory)
        if not wait_until(lambda: not self.procs.alive("postgres") or self.ready(), 60, interval=0.05) \
                or not self.procs.alive("postgres"):
            raise RuntimeError("postgres did not come up; see its log in the work folder")


def log(message):
    print(message, file=sys.stderr, flush=True)


class Node(Stack):
    """A Stack whose daemon runs on SQLite (`database` a path) or PostgreSQL (`pg_url`)."""

    def __init__(self, ecd, workdir, pg_url=None, budget=1_000_000, like=None, **kwargs):
        os.makedirs(workdir, exist_ok=True)
        super().__init__(ecd, workdir, **kwargs)
        self.pg_url, self.budget = pg_url, budget
        if like is not None:  # another node of the same cluster: same secrets, same simulator
            for name in ("client_id", "client_secret", "api_key", "secrets_dir", "keys_file"):
                setattr(self, name, getattr(like, name))
            self.ports["sim"] = like.ports["sim"]

    def write_config(self, database):
        path = super().write_config(database)
        with open(path) as f:
            config = json.load(f)
        if self.pg_url:
            config["storage"] = {"driver": "postgres", "postgres": {"url": self.pg_url, "pool_size": 8},
                                 "encryption_keys_file": self.keys_file}
            # No SQLite folder to put it beside.
            config["audit"] = {"path": os.path.join(self.workdir, "audit.log")}
        config["refresh"]["cronofy_requests_per_minute"] = self.budget
        with open(path, "w") as f:
            json.dump(config, f, indent=2)
        return path


def seed(node, emails, timeout=600):
    node.connect_service_account()
    node.request_accounts(emails)
    node.wait_active(len(emails), timeout)


def token_route(args, server, out):
    nodes = {}
    best = {}
    try:
        for driver in ("sqlite", "postgres"):
            url = None
            if driver == "postgres":
                name = "tokens"
                server.psql(f"CREATE DATABASE {name}", database="postgres")
                url = f"postgresql://ecd@127.0.0.1:{server.port}/{name}"
            node = Node(args.ecd, os.path.join(args.workdir, f"token-{driver}"), pg_url=url, daemon_cpus="0")
            path = os.path.join(node.workdir, "emails.txt")
            nodes[driver] = (node, path)
            node.start_simulator()
            node.start_daemon(os.path.join(node.workdir, "ecd.sqlite"))
            emails = [f"t{i}@example.com" for i in range(args.accounts)]
            seed(node, emails)
            with open(path, "w") as f:
                f.write("\n".join(emails) + "\n")
        for rep in range(args.reps):
            for driver, (node, path) in nodes.items():
                run = wrk(node.internal_url, node.daemon.pid, args.connections, args.duration,
                          os.path.join(HERE, "token.lua"), {"BENCH_EMAILS": path, "BENCH_API_KEY": node.api_key})
                log(f"token {driver} rep {rep + 1}: {run.rps:.0f} req/s p50 {run.p50:.2f} ms, {run.cpu_us:.1f} µs CPU, {run.errors} errors")
                if driver not in best or run.rps > best[driver].rps:
                    best[driver] = run
    finally:
        for node, _ in nodes.values():
            node.stop()
    out("### Token route: PostgreSQL node vs SQLite node (cache hits)")
    out()
    out(f"`GET /v1/accounts/{{email}}/token`, {args.accounts} accounts, wrk -t1 -c{args.connections} "
        f"-d{args.duration}s, best of {args.reps} alternating runs; ecd on CPU 0, wrk on CPU 1.")
    out()
    out("| driver | req/s | p50 ms | p99 ms | server CPU µs/req | errors |")
    out("|---|---|---|---|---|---|")
    for driver, run in best.items():
        out(f"| {driver} | {run.rps:.0f} | {run.p50:.2f} | {run.p99:.2f} | {run.cpu_us:.1f} | {run.errors} |")
    out(f"| **PostgreSQL / SQLite** | **{best['postgres'].rps / best['sqlite'].rps:.2f}×** | "
        f"{best['postgres'].p50 / best['sqlite'].p50:.2f}× | | {best['postgres'].cpu_us / best['sqlite'].cpu_us:.2f}× | |")
    out()


def sent_request_ids(driver, node, server, database):
    query = "SELECT request_id FROM accounts WHERE status = 'pending' AND request_sent_at IS NOT NULL"
    if driver == "sqlite":
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            return [row[0] for row in db.execute(query)]
    result = server.psql(query, database=database)
    return [line for line in result.stdout.split("\n") if line]


def callbacks(args, server, out):
    rows = []
    for driver in ("sqlite", "postgres"):
        workdir = os.path.join(args.workdir, f"callbacks-{driver}")
        url, database = None, os.path.join(workdir, "ecd.sqlite")
        if driver == "postgres":
            database = "callbacks"
            server.psql(f"CREATE DATABASE {database}", database="postgres")
            url = f"postgresql://ecd@127.0.0.1:{server.port}/{database}"
        node = Node(args.ecd, workdir, pg_url=url, daemon_cpus="0", callback_delay_ms=3_600_000)
        try:
            node.start_simulator()
            node.start_daemon(os.path.join(workdir, "ecd.sqlite"))
            node.connect_service_account()
            total = args.callbacks
            node.request_accounts([f"cb{i}@example.com" for i in range(total)])
            deadline = time.monotonic() + 300
            while True:
                ids = sent_request_ids(driver, node, server, database)
                if len(ids) == total or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            secret = node.client_secret.encode()
            items = []
            for request_id in ids:
                body = json.dumps({"authorization": {"error": "access_denied"}}).encode()
                signature = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
                items.append((f"/callbacks/delegated/{request_id}",
                              {"Content-Type": "application/json", "Cronofy-HMAC-SHA256": signature}, body))
            seconds, statuses = post_callbacks(node.ports["public"], items, 64)
            deadline = time.monotonic() + 120
            while node.api("GET", "/v1/accounts?status=pending&limit=1").json()["accounts"] and time.monotonic() < deadline:
                time.sleep(0.3)
            failed = node.count("failed")
            log(f"callbacks {driver}: {len(items)} in {seconds:.2f} s {statuses}, {failed} failed after")
            rows.append((driver, len(items), seconds, statuses, failed))
        finally:
            node.stop()
    out("### Durable callbacks per second")
    out()
    out("Signed error callbacks, one per pending request, over 64 keep-alive connections; each 200 is "
        "committed to the inbox (SQLite: its group commit; PostgreSQL: its intake transaction; "
        "both with fsync on). "
        "`failed after` shows every acknowledged callback was processed.")
    out()
    out("| driver | callbacks | seconds | per second | 200s | failed after |")
    out("|---|---|---|---|---|---|")
    for driver, count, seconds, statuses, failed in rows:
        out(f"| {driver} | {count} | {seconds:.2f} | {count / seconds:.0f} | {statuses.get(200, 0)} | {failed} |")
    if len(rows) == 2:
        out(f"| **PostgreSQL / SQLite** | | | **{(rows[1][1] / rows[1][2]) / (rows[0][1] / rows[0][2]):.2f}×** | | |")
    out()


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def storm(args, server, out):
    database = "storm"
    server.psql(f"CREATE DATABASE {database}", database="postgres")
    url = f"postgresql://ecd@127.0.0.1:{server.port}/{database}"
    seeder = Node(args.ecd, os.path.join(args.workdir, "storm-0"), pg_url=url)
    seeder.start_simulator()
    nodes = []
    try:
        seeder.start_daemon(os.path.join(seeder.workdir, "ecd.sqlite"))
        emails = [f"s{i}@example.com" for i in range(args.storm_accounts)]
        started = time.monotonic()
        seed(seeder, emails, timeout=1200)
        log(f"storm: {len(emails)} accounts seeded in {time.monotonic() - started:.0f} s")
        seeder.stop_daemon()
        # The three nodes, each with the storm's budget: one budget for the cluster.
        nodes = [Node(args.ecd, os.path.join(args.workdir, f"storm-{i + 1}"), pg_url=url, budget=args.budget, like=seeder)
                 for i in range(3)]
        for node in nodes:
            node.start_daemon(os.path.join(node.workdir, "ecd.sqlite"))
        statuses = {}
        lock = threading.Lock()
        queue = list(enumerate(emails))

        def worker():
            while True:
                with lock:
                    if not queue:
                        return
                    index, email = queue.pop()
                node = nodes[index % 3]
                while True:
                    answer = node.api("POST", f"/v1/accounts/{email}/refresh")
                    with lock:
                        statuses[answer.status] = statuses.get(answer.status, 0) + 1
                    if answer.status == 200:
                        break
                    time.sleep(float(answer.header("retry-after") or 1))

        storm_start = time.time()
        began = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(args.storm_workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        drain = time.monotonic() - began
        calls = json.loads(request(seeder.sim_url + "/_simulator/calls?endpoint=token", timeout=120).body)["calls"]
        times = sorted(parse_time(c["received_at"]) for c in calls
                       if "refresh_token" in c["body"] and parse_time(c["received_at"]) >= storm_start - 1)
    finally:
        for node in nodes:
            node.stop_daemon()
        seeder.stop()
    rate = args.budget / 60
    burst = min(args.budget // 6, 40)
    # Largest count in any 60 s window, and the worst excess over the bucket (burst + rate × span).
    per_minute, excess, j = 0, float("-inf"), 0
    for i in range(len(times)):
        while times[i] - times[j] > 60:
            j += 1
        per_minute = max(per_minute, i - j + 1)
    for i in range(0, len(times), max(1, len(times) // 400)):
        for k in range(i, len(times)):
            excess = max(excess, (k - i + 1) - (burst + rate * (times[k] - times[i])))
    span = times[-1] - times[0] if times else 0
    log(f"storm: {len(times)} refreshes in {drain:.1f} s; max {per_minute} in a 60 s window; answers {statuses}")
    out("### Refresh storm across three nodes")
    out()
    out(f"{args.storm_accounts} accounts on one PostgreSQL, each refreshed once (`POST /v1/accounts/{{email}}/refresh`, "
        f"{args.storm_workers} clients spread over three `ecd serve` nodes, retrying after `Retry-After` when the "
        f"budget refuses), `refresh.cronofy_requests_per_minute` {args.budget} on every node (one budget for the cluster: "
        f"{rate:.0f}/s, bursts of {burst}).")
    out()
    out("| refreshes at Cronofy | drain (s) | achieved /s | budget /s | max in any 60 s | budget per minute (+ burst) | worst excess over the bucket | API answers |")
    out("|---|---|---|---|---|---|---|---|")
    achieved = len(times) / span if span else 0
    out(f"| {len(times)} | {drain:.1f} | {achieved:.1f} | {rate:.1f} | {per_minute} | {args.budget} (+{burst}) | "
        f"{excess:.1f} calls | {json.dumps(statuses)} |")
    out()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ecd", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--callbacks", type=int, default=2000)
    parser.add_argument("--storm-accounts", type=int, default=10000)
    parser.add_argument("--storm-workers", type=int, default=48)
    parser.add_argument("--budget", type=int, default=6000)
    parser.add_argument("--only", default="tokens,callbacks,storm")
    args = parser.parse_args()
    lines = []

    def out(line=""):
        print(line, flush=True)
        lines.append(line)

    server = DurablePostgresServer(args.workdir, free_port())
    os.makedirs(os.path.join(args.workdir, "logs"), exist_ok=True)
    server.create()
    try:
        only = args.only.split(",")
        if "tokens" in only:
            token_route(args, server, out)
        if "callbacks" in only:
            callbacks(args, server, out)
        if "storm" in only:
            storm(args, server, out)
    finally:
        server.stop()
    with open(os.path.join(args.workdir, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
