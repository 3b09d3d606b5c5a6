"""One Cronofy request budget for the whole cluster (issue 16 item 3): the nodes restart with
`refresh.cronofy_requests_per_minute` 60, every node is given more work than that allows, and the
simulator's record of the calls it received (with their arrival times) shows the three together
within the one budget: in any 20-s window at most its burst plus 20 s of its rate."""
import time
from datetime import datetime

from .accounts import callbacks
from .procs import wait_until

PER_MINUTE = 60
# RequestBudget's bucket: a burst of a sixth of the per-minute budget (at most 40), refilled at
# PER_MINUTE / 60 a second.
BURST = min(PER_MINUTE // 6, 40)
WINDOW = 20.0
ACCOUNTS_PER_NODE = 30


def arrival(call):
    return datetime.fromisoformat(call["received_at"].replace("Z", "+00:00")).timestamp()


def busiest_window(times, window):
    """The most calls that arrived within any `window` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best


def run(cluster, report):
    nodes = range(len(cluster.nodes))
    cluster.requests_per_minute = PER_MINUTE
    for index in nodes:
        cluster.stop_node(index)
    for index in nodes:
        cluster.start_node(index)
    before = len(cluster.sim("GET", "/_simulator/calls").json()["calls"])
    started = time.monotonic()
    emails = []
    for index in nodes:
        batch = [f"budget-{index}-{n:02d}@example.com" for n in range(ACCOUNTS_PER_NODE)]
        emails += batch
        response = cluster.api_on(index, "POST", "/v1/accounts", json_body={"accounts": [{"email": e} for e in batch]})
        if response.status != 202:
            report.check(f"budget: POST /v1/accounts on node {index + 1}: 202", False, response.describe(200))
            return
    # Every node has callbacks to exchange, more than the budget allows in the measured time.
    wanted = set(emails)
    wait_until(lambda: len({c["email"] for c in callbacks(cluster) if c["email"] in wanted}) == len(emails), 30, interval=0.5)
    # A measurement over a span of time, not a wait for an event: WINDOW + 5 s of calls.
    time.sleep(max(0.0, WINDOW + 5 - (time.monotonic() - started)))
    calls = cluster.sim("GET", "/_simulator/calls").json()["calls"][before:]
    times = [arrival(call) for call in calls]
    allowed = BURST + int(PER_MINUTE * WINDOW / 60) + 1  # + 1: a call on the window's edge
    busiest = busiest_window(times, WINDOW)
    report.check(f"one Cronofy budget for three nodes ({PER_MINUTE}/min): at most {allowed} calls in any {WINDOW:.0f} s "
                 f"(busiest {busiest}, {len(calls)} calls in {time.monotonic() - started:.0f} s for {len(emails)} accounts)",
                 busiest <= allowed and len(calls) >= allowed, f"busiest {WINDOW:.0f}-s window: {busiest} calls")
