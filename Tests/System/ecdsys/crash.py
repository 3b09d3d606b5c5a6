"""A burst of delegated-access callbacks, `kill -9` of ecd in the middle of it, a restart, and the
promise of api-contract.md §3: every callback ecd acknowledged ends in an `active` account."""
import time

from .accounts import all_accounts, callbacks
from .procs import wait_until

BURST = 300


def burst_emails():
    return [f"burst-{n:04d}@example.com" for n in range(BURST)]


def acknowledged(stack, emails):
    """Emails with at least one callback the daemon answered 200."""
    wanted = set(emails)
    return {c["email"].lower() for c in callbacks(stack)
            if c["email"].lower() in wanted and any(a.get("status") == 200 for a in c["attempts"])}


def exchanged(stack):
    """Authorization codes of delegated callbacks the simulator has exchanged successfully."""
    calls = stack.sim("GET", "/_simulator/calls?endpoint=token").json()["calls"]
    return sum(1 for c in calls if c.get("status") == 200 and "authorization_code" in c.get("body", "")
               and "/callbacks/delegated/" in c.get("body", ""))


def run(stack, report):
    emails = burst_emails()
    started = time.monotonic()
    response = stack.api("POST", "/v1/accounts", json_body={"accounts": [{"email": e} for e in emails]})
    report.check(f"POST /v1/accounts with {BURST} emails: 202", response.status == 202, response.describe(200))
    if response.status != 202:
        return
    # Kill 100 ms after the 202: callbacks are then arriving, in flight, or acknowledged and
    # waiting in the inbox for their code exchange.
    time.sleep(0.1)
    stack.kill9_ecd()
    first = (f"{time.monotonic() - started:.2f} s after the request, {len(acknowledged(stack, emails))} callbacks "
             f"acknowledged, {exchanged(stack)} codes exchanged")
    stack.start_ecd(stack.base_url)
    report.check(f"ecd restarts after kill -9 ({first}) and answers /readyz",
                 stack.api("GET", "/readyz").status == 200, stack.api("GET", "/readyz").describe())
    # A second kill while the restarted daemon works through its inbox and the retried callbacks.
    time.sleep(0.3)
    stack.kill9_ecd()
    second = f"{len(acknowledged(stack, emails))} acknowledged, {exchanged(stack)} exchanged"
    stack.start_ecd(stack.base_url)
    report.check(f"ecd restarts after a second kill -9 0.3 s into recovery ({second}) and answers /readyz",
                 stack.api("GET", "/readyz").status == 200, stack.api("GET", "/readyz").describe())

    def finished():
        records = [c for c in callbacks(stack) if c["email"].lower() in set(emails)]
        return len({c["email"].lower() for c in records}) == BURST and all(c["finished"] for c in records)
    wait_until(finished, 60, interval=0.5)
    acked = acknowledged(stack, emails)

    def all_active():
        active = {a["email"].lower() for a in all_accounts(stack, status="active")}
        return acked <= active
    wait_until(all_active, 90, interval=1.0)
    states = {}
    for account in all_accounts(stack):
        if account["email"].lower() in set(emails):
            states[account["email"].lower()] = account["status"]
    lost = sorted(e for e in acked if states.get(e) != "active")
    counts = {}
    for status in states.values():
        counts[status] = counts.get(status, 0) + 1
    report.check(f"every acknowledged callback ({len(acked)} of {BURST}) ended in an active account "
                 f"({time.monotonic() - started:.1f} s in all; statuses {counts})",
                 not lost and len(acked) > 0,
                 f"{len(lost)} not active, e.g. {[(e, states.get(e)) for e in lost[:5]]}")
