"""Least privilege (issue 15) over real sockets to the internal listener, no nginx in between: one
key of each role (admin, tokens limited to a domain, metrics configured by its SHA-256 only), each
boundary proven, and the audit log's lines for what they did."""
import os
import stat

from .accounts import ALICE


def run(stack, report):
    def call(method, path, key):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return stack.client.request(method, stack.internal_url + path, headers=headers)

    def forbidden(response, permission):
        body = response.json() if response.status == 403 else {}
        return (response.status == 403 and body.get("error", {}).get("code") == "forbidden"
                and body.get("permission") == permission)

    tokens, metrics = stack.tokens_key, stack.metrics_key
    token = call("GET", f"/v1/accounts/{ALICE}/token", tokens)
    report.check("tokens key: GET /v1/accounts/{email}/token of its domain is 200", token.status == 200, token.describe())
    outside = call("GET", "/v1/accounts/someone@elsewhere.test/token", tokens)
    report.check("tokens key: a token outside its domain is 403 forbidden (tokens:read)", forbidden(outside, "tokens:read"),
                 outside.describe())
    for method, path, permission in (("GET", "/v1/events", "events:read"), ("DELETE", f"/v1/accounts/{ALICE}", "accounts:revoke"),
                                     ("POST", "/v1/service-accounts/connect-links", "service_accounts:connect"),
                                     ("GET", "/metrics", "metrics:read"), ("GET", "/v1/audit", "audit:read")):
        response = call(method, path, tokens)
        report.check(f"tokens key: {method} {path} is 403 naming {permission}", forbidden(response, permission), response.describe())
    for path in ("/metrics", "/readyz"):
        response = call("GET", path, metrics)
        report.check(f"metrics key (configured by digest): GET {path} is 200", response.status == 200, response.describe())
    for method, path, permission in (("GET", f"/v1/accounts/{ALICE}/token", "tokens:read"), ("GET", "/v1/accounts", "accounts:read")):
        response = call(method, path, metrics)
        report.check(f"metrics key: {method} {path} is 403 naming {permission}", forbidden(response, permission), response.describe())
    response = call("GET", "/v1/events", None)
    report.check("no key: GET /v1/events is 401", response.status == 401, response.describe())
    response = call("GET", "/metrics", None)
    report.check("no key: GET /metrics is 401 (internal.open_probes is off)", response.status == 401, response.describe())
    alice_admin = call("GET", f"/v1/accounts/{ALICE}/token", stack.api_key)
    report.check("admin key: GET /v1/accounts/{email}/token is 200", alice_admin.status == 200, alice_admin.describe())

    # The audit log: lines for what the tokens key did and was refused, read back by the admin.
    entries, after = [], 0
    while True:
        page = call("GET", f"/v1/audit?after={after}&limit=1000", stack.api_key)
        if page.status != 200:
            break
        batch = page.json().get("entries", [])
        if not batch:
            break
        entries += batch
        after = page.json().get("next_after")
    report.check("admin key: GET /v1/audit pages through the audit log", page.status == 200 and entries, page.describe())

    def has(action, key, outcome, target=None):
        return any(e.get("action") == action and e.get("key") == key and e.get("outcome") == outcome
                   and (target is None or e.get("target") == target) for e in entries)

    report.check("audit: billing's token read of alice is on record",
                 has("account.token.read", "billing", "ok", ALICE), f"{len(entries)} lines")
    report.check("audit: billing's refused token read outside its domain is on record",
                 has("account.token.read", "billing", "forbidden", "someone@elsewhere.test"), f"{len(entries)} lines")
    report.check("audit: the metrics key's refused token read is on record",
                 has("account.token.read", "prometheus", "forbidden", ALICE), f"{len(entries)} lines")
    ids = [e.get("id") for e in entries]
    report.check("audit: lines are numbered in order", ids == sorted(ids) and len(set(ids)) == len(ids), f"{ids[:10]}")
    mode = stat.S_IMODE(os.stat(stack.audit_path).st_mode)
    report.check("audit: the log file is mode 0600", mode == 0o600, oct(mode))
