"""The bulk-request benchmark (scripts/bench-bulk.sh runs it): how long `POST /v1/accounts` with
1,000 new emails takes to answer 202, and how long until all 1,000 are active. Prints Markdown
for docs/benchmarks.md "Bulk requests"."""
import argparse
import json
import os
import statistics
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ecdstack import Stack  # noqa: E402


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def pending_count(stack):
    total, after = 0, None
    while True:
        query = {"status": "pending", "limit": 1000}
        if after:
            query["after"] = after
        page = stack.api("GET", "/v1/accounts?" + urllib.parse.urlencode(query)).json()
        total += len(page["accounts"])
        after = page.get("next")
        if not after:
            return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ecd", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--server-cpu", default=None)
    args = parser.parse_args()

    stack = Stack(args.ecd, args.workdir, daemon_cpus=args.server_cpu)
    answers, settles, not_pending = [], [], 0
    try:
        stack.start_simulator()
        stack.start_daemon(os.path.join(args.workdir, "ecd.sqlite"))
        stack.connect_service_account()
        for rep in range(args.reps):
            emails = [f"bulk{rep}-{n}@example.com" for n in range(args.size)]
            body = {"accounts": [{"email": e} for e in emails]}
            started = time.monotonic()
            answer = stack.api("POST", "/v1/accounts", body)
            answered = time.monotonic() - started
            if answer.status != 202:
                raise RuntimeError(f"POST /v1/accounts: {answer.status} {answer.body[:300]!r}")
            statuses = [a["status"] for a in answer.json()["accounts"]]
            not_pending += sum(1 for s in statuses if s != "pending")
            # Settled: none of this batch (nor anything else) pending, all of it active.
            while pending_count(stack) > 0:
                if time.monotonic() - started > 300:
                    raise RuntimeError("accounts still pending after 300 s")
                time.sleep(0.05)
            settled = time.monotonic() - started
            answers.append(answered * 1000)
            settles.append(settled)
            log(f"rep {rep + 1}/{args.reps}: 202 in {answered * 1000:.0f} ms, all settled in {settled:.1f} s")
        active = stack.count("active")
        failed = stack.count("failed")
    finally:
        stack.stop()

    print(f"| accounts per request | requests | answer p50 ms | p90 ms | max ms | answered not pending | all active after (p50) | active / failed at the end |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {args.size} | {args.reps} | {statistics.median(answers):.0f} | {percentile(answers, 0.9):.0f} | "
          f"{max(answers):.0f} | {not_pending} | {statistics.median(settles):.1f} s | {active} / {failed} |")


if __name__ == "__main__":
    main()
