"""Durable callbacks through the public listener, and `POST /v1/accounts` with 1,000 emails
(daemon_bench.py runs it). The simulator holds its own callbacks back (a one-hour delay), so the
only callbacks the daemon sees are the ones sent here: signed error callbacks (`access_denied`),
one per pending request, from many keep-alive connections at once. Each 200 means the callback is
in the inbox, committed (the daemon answers only after its group commit); the accounts all turning
`failed` afterwards shows that every acknowledged callback was kept."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import sqlite3
import statistics
import threading
import time

from ecdstack import Stack


def post_callbacks(port, items, connections):
    """Sends `items` (path, headers, body) over `connections` keep-alive connections; returns the
    seconds from the first send to the last answer and the statuses seen."""
    statuses = {}
    lock = threading.Lock()
    queue = list(items)
    start = threading.Barrier(connections + 1)

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start.wait()
        while True:
            with lock:
                if not queue:
                    break
                path, headers, body = queue.pop()
            connection.request("POST", path, body=body, headers=headers)
            answer = connection.getresponse()
            answer.read()
            with lock:
                statuses[answer.status] = statuses.get(answer.status, 0) + 1
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    return time.monotonic() - began, statuses


def run(ecd, workdir, server_cpu, batches=5, batch=1000, connections=64, log=print):
    os.makedirs(workdir, exist_ok=True)
    stack = Stack(ecd, workdir, daemon_cpus=server_cpu, callback_delay_ms=3_600_000)
    database = os.path.join(workdir, "ecd-callbacks.sqlite")
    try:
        stack.start_simulator()
        stack.start_daemon(database)
        stack.connect_service_account()
        latencies = []
        for n in range(batches):
            body = {"accounts": [{"email": f"cb{n}-{i}@example.com"} for i in range(batch)]}
            started = time.monotonic()
            answer = stack.api("POST", "/v1/accounts", body)
            latencies.append((time.monotonic() - started) * 1000)
            if answer.status != 202:
                raise RuntimeError(f"POST /v1/accounts: {answer.status} {answer.body[:300]!r}")
        log(f"POST /v1/accounts × {batch}: {', '.join(f'{ms:.0f}' for ms in latencies)} ms")
        # Every request has been sent to (and accepted by) the simulator once it has a sent time.
        deadline = time.monotonic() + 300
        while True:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
                ids = [row[0] for row in db.execute(
                    "SELECT request_id FROM accounts WHERE status = 'pending' AND request_sent_at IS NOT NULL")]
            if len(ids) == batches * batch or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        secret = stack.client_secret.encode()
        items = []
        for request_id in ids:
            body = json.dumps({"authorization": {"error": "access_denied"}}).encode()
            signature = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()
            items.append((f"/callbacks/delegated/{request_id}",
                          {"Content-Type": "application/json", "Cronofy-HMAC-SHA256": signature}, body))
        seconds, statuses = post_callbacks(stack.ports["public"], items, connections)
        log(f"{len(items)} callbacks in {seconds:.2f} s: {statuses}")
        # Every acknowledged callback is processed: its account leaves `pending` for `failed`.
        deadline = time.monotonic() + 120
        while stack.api("GET", "/v1/accounts?status=pending&limit=1").json()["accounts"] and time.monotonic() < deadline:
            time.sleep(0.2)
        failed = stack.count("failed")
    finally:
        stack.stop()
    return {
        "callbacks": len(items), "seconds": seconds, "per_second": len(items) / seconds,
        "ok": statuses.get(200, 0), "statuses": statuses, "failed_after": failed, "connections": connections,
        "post_ms": latencies, "post_p50": statistics.median(latencies), "post_max": max(latencies), "batch": batch,
    }
