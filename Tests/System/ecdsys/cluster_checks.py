"""The cluster's promises (issue 16 item 3), each checked on the running ClusterStack: any node
serves any request, a token is refreshed once per cluster, caches stay coherent, and every
callback acknowledged before a node's kill -9 ends `active`."""
import threading
import time

from .accounts import all_accounts, callbacks, wait_for_statuses
from .connect import create_link, get_with, walk_to_callback
from .procs import wait_until

# The simulator's default access-token lifetime (ecd simulator --token-lifetime).
TOKEN_LIFETIME = 1800


def start(cluster, report):
    results = cluster.migrate_all()
    report.check("ecd migrate of three nodes at once on one PostgreSQL: each exits 0",
                 all(r.returncode == 0 for r in results),
                 " | ".join(f"exit {r.returncode}: {r.stderr.strip()[-200:]}" for r in results if r.returncode != 0))
    for index in range(len(cluster.nodes)):
        cluster.start_node(index)
    cluster.start_nginx()
    ready = [cluster.api_on(i, "GET", "/readyz") for i in range(len(cluster.nodes))]
    report.check("every node answers /readyz 200 (storage.driver postgres, listening for grant changes)",
                 all(r.status == 200 for r in ready), " | ".join(r.describe(200) for r in ready if r.status != 200))
    health = cluster.client.request("GET", cluster.tls_url + "/healthz")
    report.check("nginx's TLS server answers /healthz through the upstream of three nodes", health.status == 200, health.describe())


def connect(cluster, report):
    """A connect link made on node 1, walked by the admin's browser through nginx (its requests
    spread over the nodes): the service account is active, seen by every node. Returns its id."""
    cluster.current = 0
    link = create_link(cluster, report, label="cluster")
    if not link:
        return None
    jar, responses, callback = walk_to_callback(cluster, link)
    page = get_with(cluster, jar, callback) if callback else None
    report.check("connect flow through nginx over three nodes: the OAuth callback page is 200",
                 page is not None and page.status == 200, page.describe() if page else " | ".join(r.describe(120) for r in responses))
    seen = []
    for index in range(len(cluster.nodes)):
        listed = cluster.api_on(index, "GET", "/v1/service-accounts")
        seen.append([a["id"] for a in listed.json().get("service_accounts", []) if a.get("status") == "active"]
                    if listed.status == 200 else listed.describe())
    report.check("every node lists the one active service account", all(s == seen[0] for s in seen) and len(seen[0]) == 1, f"{seen}")
    return seen[0][0] if len(seen[0]) == 1 else None


def request_accounts(cluster, report, emails):
    """Accounts requested on node 2; their callbacks come through nginx to any node; node 3 sees
    them active, and every node serves the same token."""
    response = cluster.api_on(1, "POST", "/v1/accounts", json_body={"accounts": [{"email": e} for e in emails]})
    report.check(f"POST /v1/accounts with {len(emails)} emails on node 2: 202", response.status == 202, response.describe())
    cluster.current = 2
    seen = wait_for_statuses(cluster, emails, timeout=60)
    statuses = {email: account.get("status") for email, account in seen.items()}
    report.check("their callbacks through nginx: every account active, as node 3 sees it",
                 len(statuses) == len(emails) and set(statuses.values()) == {"active"}, f"{statuses}")
    tokens = [cluster.api_on(i, "GET", f"/v1/accounts/{emails[0]}/token") for i in range(len(cluster.nodes))]
    served = {r.json().get("access_token") for r in tokens if r.status == 200}
    report.check("every node serves the same token for an account", all(r.status == 200 for r in tokens) and len(served) == 1,
                 " | ".join(r.describe(120) for r in tokens if r.status != 200) or f"{len(served)} different tokens")


def refresh_calls(cluster):
    calls = cluster.sim("GET", "/_simulator/calls?endpoint=token").json()["calls"]
    return sum(1 for c in calls if "refresh_token" in c.get("body", ""))


def single_refresh(cluster, report, email, readers=20):
    """20 readers spread over the three nodes ask at once for a token with more validity than
    the current one has: Cronofy sees one refresh (held 1.5 s by the simulator, so every reader
    asks while it is out), and every reader gets the token it produced."""
    minimum = TOKEN_LIFETIME - 10
    # The current token must be older than 10 s (a fresh one satisfies `minimum`, the current not).
    def remaining():
        response = cluster.api_on(0, "GET", f"/v1/accounts/{email}/token")
        return response.json().get("expires_in", TOKEN_LIFETIME) if response.status == 200 else TOKEN_LIFETIME
    if not wait_until(lambda: remaining() < minimum - 2, 30, interval=0.5):
        report.check("single refresh: the account's token ages below the readers' min_validity", False, f"expires_in {remaining()}")
        return
    old = cluster.api_on(0, "GET", f"/v1/accounts/{email}/token").json().get("access_token")
    before = refresh_calls(cluster)
    cluster.sim("POST", "/_simulator/faults", json_body={"endpoint": "token", "fault": "slow@1500", "count": 1})
    barrier = threading.Barrier(readers)
    answers = [None] * readers

    def read(n):
        barrier.wait()
        answers[n] = cluster.api_on(n % len(cluster.nodes), "GET", f"/v1/accounts/{email}/token?min_validity={minimum}")
    threads = [threading.Thread(target=read, args=(n,)) for n in range(readers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    elapsed = time.monotonic() - started
    cluster.sim("DELETE", "/_simulator/faults")
    tokens = {a.json().get("access_token") for a in answers if a is not None and a.status == 200}
    refreshes = refresh_calls(cluster) - before
    report.check(f"{readers} concurrent readers on three nodes of a token needing a refresh: one refresh at Cronofy, "
                 f"every reader 200 with its token ({elapsed:.1f} s)",
                 refreshes == 1 and len(tokens) == 1 and old not in tokens
                 and all(a is not None and a.status == 200 for a in answers),
                 f"{refreshes} refreshes, {len(tokens)} distinct tokens, statuses "
                 f"{sorted({a.status if a else None for a in answers}, key=str)}")


def coherence(cluster, report, email):
    """A refresh, then a revoke, on node 1: within 1 s neither other node serves the old token.
    Before each, every node has just served (and so cached) the same token: only PostgreSQL's
    notification can tell the others it changed."""
    nodes = range(len(cluster.nodes))

    def served(index):
        answer = cluster.api_on(index, "GET", f"/v1/accounts/{email}/token")
        return answer.json().get("access_token") if answer.status == 200 else answer.status

    def stale_for(change, name):
        """Seconds until no node serves the token all of them served before `change` (None: some
        node still served it 1 s after), and change's response."""
        before = [served(i) for i in nodes]
        if len(set(before)) != 1 or not isinstance(before[0], str):
            labels = {}  # tokens stay out of the output: each distinct one is a letter
            shown = [b if isinstance(b, int) else labels.setdefault(b, "token " + "ABC"[len(labels) % 3]) for b in before]
            report.check(f"coherence: every node serves the same token before the {name}", False, f"nodes answer {shown}")
            return None, None
        started = time.monotonic()
        response = change()
        while time.monotonic() - started < 1.0:
            if all(served(i) != before[0] for i in nodes):
                return time.monotonic() - started, response
            time.sleep(0.02)
        return None, response

    def took_text(took):
        return f" ({took * 1000:.0f} ms)" if took is not None else ""
    took, refreshed = stale_for(lambda: cluster.api_on(0, "POST", f"/v1/accounts/{email}/refresh"), "refresh")
    if refreshed is None:
        return
    report.check("a refresh on node 1: no node serves the old token within 1 s" + took_text(took),
                 took is not None and refreshed.status == 200,
                 f"refresh answered {refreshed.status}; the old token still served after 1 s: {took is None}")
    took, revoked = stale_for(lambda: cluster.api_on(0, "DELETE", f"/v1/accounts/{email}"), "revoke")
    if revoked is None:
        return
    after = [served(i) for i in nodes]
    report.check("a revoke on node 1: no node serves the old token within 1 s, then every node answers 409" + took_text(took),
                 revoked.status == 200 and took is not None and after == [409] * len(cluster.nodes),
                 f"revoke {revoked.describe(120)}; token statuses after: {[a if isinstance(a, int) else 200 for a in after]}")


BURST = 300
# CoreConfiguration.inboxConcurrency: the exchanges one node has in hand at once.
INBOX_CONCURRENCY = 4


def acknowledged(cluster, emails):
    wanted = set(emails)
    return {c["email"].lower() for c in callbacks(cluster)
            if c["email"].lower() in wanted and any(a.get("status") == 200 for a in c["attempts"])}


def kill_during_burst(cluster, report, victim=1):
    """300 accounts requested on node 1; their callbacks come through nginx to every node. The
    simulator holds the answers of the first code exchanges (it spends each code at once), so
    every node has its whole inbox concurrency in hand; then kill -9 of node 2, which also holds
    acknowledged callbacks not yet exchanged. The others take those up, the killed node's claims
    run out and another node tries those codes again (spent: the accounts are requested again),
    and every callback any node acknowledged ends `active`."""
    emails = [f"cburst-{n:04d}@example.com" for n in range(BURST)]
    held = INBOX_CONCURRENCY * len(cluster.nodes)
    issued_before = len(cluster.sim("GET", "/_simulator/issued").json()["access_tokens"])
    cluster.sim("POST", "/_simulator/faults", json_body={"endpoint": "token", "fault": "slow@4000", "count": held})
    started = time.monotonic()
    cluster.current = 0
    response = cluster.api_on(0, "POST", "/v1/accounts", json_body={"accounts": [{"email": e} for e in emails]})
    report.check(f"POST /v1/accounts with {BURST} emails on node 1: 202", response.status == 202, response.describe(200))
    if response.status != 202:
        return
    # The held exchanges have reached Cronofy (their tokens are issued) and wait for its answer:
    # at most INBOX_CONCURRENCY per node, so each node has that many in hand.
    in_hand = wait_until(lambda: len(cluster.sim("GET", "/_simulator/issued").json()["access_tokens"]) >= issued_before + held,
                         30, interval=0.05)
    cluster.kill9_node(victim)
    at_kill = len(acknowledged(cluster, emails))
    cluster.sim("DELETE", "/_simulator/faults")
    wanted = set(emails)

    def finished():
        records = [c for c in callbacks(cluster) if c["email"].lower() in wanted]
        return len({c["email"].lower() for c in records}) == BURST and all(c["finished"] for c in records)
    wait_until(finished, 90, interval=0.5)
    acked = acknowledged(cluster, emails)

    def all_active():
        return acked <= {a["email"].lower() for a in all_accounts(cluster, status="active")}
    wait_until(all_active, 200, interval=1.0)
    states = {a["email"].lower(): a["status"] for a in all_accounts(cluster) if a["email"].lower() in wanted}
    lost = sorted(e for e in acked if states.get(e) != "active")
    counts = {}
    for status in states.values():
        counts[status] = counts.get(status, 0) + 1
    report.check(f"kill -9 of node {victim + 1} during a burst of {BURST} callbacks ({at_kill} acknowledged at the kill, "
                 f"{held} exchanges held at Cronofy: {bool(in_hand)}): "
                 f"every acknowledged callback ({len(acked)}) ended active ({time.monotonic() - started:.1f} s; statuses {counts})",
                 bool(in_hand) and not lost and len(acked) > 0,
                 f"{len(lost)} not active, e.g. {[(e, states.get(e)) for e in lost[:5]]}; exchanges held at the kill: {bool(in_hand)}")
    # Exchanged by one node: a code goes to Cronofy twice only when the killed node had it in hand
    # (its claim ran out and another node tried it again), at most the INBOX_CONCURRENCY it held.
    codes = {c["code"] for c in callbacks(cluster) if c["email"].lower() in wanted and c.get("code")}
    sent = {}
    for call in cluster.sim("GET", "/_simulator/calls?endpoint=token").json()["calls"]:
        body = call.get("body", "")
        if "authorization_code" in body:
            for code in codes:
                if code in body:
                    sent[code] = sent.get(code, 0) + 1
    again = sorted(n for n in sent.values() if n > 1)
    report.check(f"each of the burst's {len(codes)} codes went to Cronofy once, but {len(again)} of the "
                 f"{INBOX_CONCURRENCY} the killed node held, tried once more by another node",
                 len(sent) > 0 and len(again) <= INBOX_CONCURRENCY and all(n == 2 for n in again),
                 f"codes sent more than once: {len(again)} ({again[:10]})")
    one_node_down(cluster, report, victim)
    cluster.start_node(victim)
    ready = cluster.api_on(victim, "GET", "/readyz")
    report.check(f"node {victim + 1} restarts after kill -9 and answers /readyz 200", ready.status == 200, ready.describe())


def one_node_down(cluster, report, down):
    """With one node dead, nginx (ecd-http-cluster.conf) passes every callback to a live node: each
    is acknowledged at its first attempt, none is answered 502."""
    emails = [f"down-{n}@example.com" for n in range(9)]
    live = next(i for i in range(len(cluster.nodes)) if i != down)
    response = cluster.api_on(live, "POST", "/v1/accounts", json_body={"accounts": [{"email": e} for e in emails]})
    cluster.current = live
    seen = wait_for_statuses(cluster, emails, timeout=60)
    first = {c["email"]: (c["attempts"] or [{}])[0].get("status") for c in callbacks(cluster) if c["email"] in emails}
    report.check(f"node {down + 1} down: {len(emails)} callbacks through nginx each acknowledged 200 at the first attempt "
                 "(the upstream skips the dead node), every account active",
                 response.status == 202 and len(first) == len(emails) and set(first.values()) == {200}
                 and {a.get("status") for a in seen.values()} == {"active"} and len(seen) == len(emails),
                 f"{response.describe(100)}; first attempts {sorted(first.values(), key=str)}; "
                 f"statuses {sorted({a.get('status') for a in seen.values()}, key=str)}")


def secrets_in_logs(cluster, report):
    """No token or code the simulator issued, nor the client secret or API key, appears in a
    node's log, its audit log or nginx's, nor in clear text anywhere in the database (pg_dump)."""
    issued = cluster.sim("GET", "/_simulator/issued").json()
    values = [v for key in ("access_tokens", "refresh_tokens", "codes") for v in issued.get(key, [])]
    values += [cluster.client_secret, cluster.api_key]
    found = []
    for path in cluster.log_files():
        with open(path, errors="replace") as f:
            text = f.read()
        found += [f"{path.rsplit('/', 1)[-1]}" for value in values if value and value in text]
    report.check(f"no token, code, client secret or API key in the nodes' or nginx's logs ({len(values)} secrets, "
                 f"{len(cluster.log_files())} files)", not found and len(values) > 10, f"found in {sorted(set(found))}")
    dump = cluster.postgres.dump()
    rows = dump.count("\n")
    # Text columns as text, bytea columns as hex: look for both spellings.
    leaked = sum(1 for value in values if value and (value in dump or value.encode().hex() in dump))
    report.check(f"no token, code, client secret or API key in clear text in PostgreSQL (pg_dump, {rows} lines)",
                 dump != "" and leaked == 0 and "cburst-0000@example.com" in dump, f"{leaked} found; dump of {len(dump)} bytes")
