"""Delegated access through the connected service account: request accounts (one refused by the
simulator), receive Cronofy's callbacks through nginx, serve and refresh tokens, revoke."""
import json
import time
import urllib.parse

from .procs import wait_until

ALICE, BOB, REFUSED = "alice@example.com", "bob@example.com", "refused@example.com"


def all_accounts(stack, status=None):
    """Every account, following the cursor."""
    accounts, after = [], None
    while True:
        query = {"limit": "1000"}
        if status:
            query["status"] = status
        if after:
            query["after"] = after
        response = stack.api("GET", "/v1/accounts?" + urllib.parse.urlencode(query))
        if response.status != 200:
            raise RuntimeError(response.describe())
        page = response.json()
        accounts += page.get("accounts", [])
        after = page.get("next")
        if not after:
            return accounts


def wait_for_statuses(stack, emails, done=("active", "failed"), timeout=30):
    """Polls until every email has a status in `done`; returns email -> account as last seen."""
    wanted = {e.lower() for e in emails}
    seen = {}

    def settled():
        seen.clear()
        for account in all_accounts(stack):
            if account["email"].lower() in wanted:
                seen[account["email"].lower()] = account
        return len(seen) == len(wanted) and all(a["status"] in done for a in seen.values())
    wait_until(settled, timeout, interval=0.25)
    return seen


def callbacks(stack):
    return stack.sim("GET", "/_simulator/callbacks").json()["callbacks"]


def issued(stack):
    return stack.sim("GET", "/_simulator/issued").json()


def request_and_settle(stack, report):
    response = stack.api("POST", "/v1/accounts", json_body={"accounts": [{"email": e} for e in (ALICE, BOB, REFUSED)]})
    body = response.json() if response.status == 202 else {}
    report.check("POST /v1/accounts with three emails: 202, all pending",
                 response.status == 202 and [a.get("status") for a in body.get("accounts", [])] == ["pending"] * 3,
                 response.describe())
    seen = wait_for_statuses(stack, (ALICE, BOB, REFUSED))
    status = {email: account.get("status") for email, account in seen.items()}
    report.check("callbacks through nginx TLS: alice and bob active, refused failed",
                 stack.base_url.startswith("https:") and status == {ALICE: "active", BOB: "active", REFUSED: "failed"},
                 f"base_url {stack.base_url}, statuses after 30 s: {status}")
    error = json.dumps((seen.get(REFUSED) or {}).get("error"))
    report.check("the refused account carries Cronofy's unable_to_grant_scope", "unable_to_grant_scope" in error, error)
    alice = seen.get(ALICE) or {}
    report.check("the active account has account_id, sub and a linking profile",
                 bool(alice.get("account_id")) and bool(alice.get("sub")) and isinstance(alice.get("profile"), dict),
                 json.dumps(alice))


def callback_checks(stack, report):
    """Duplicates, forgeries and malformed callbacks, all through nginx."""
    mine = [c for c in callbacks(stack) if c["email"].lower() == ALICE]
    if not mine:
        report.check("the simulator recorded alice's callback", False, "no callback for alice")
        return
    record = mine[-1]
    url = record["callback_url"]
    report.check("callback_url is under base_url/callbacks/delegated/ and was acknowledged 200",
                 url.startswith(stack.base_url + "/callbacks/delegated/") and record["delivered"]
                 and any(a.get("status") == 200 for a in record["attempts"]), json.dumps({k: record[k] for k in ("attempts", "delivered")}))
    exchanges_before = code_exchanges(stack, record.get("code"))
    again = stack.client.request("POST", url, body=record["body"].encode(), headers={"Content-Type": "application/json"})
    time.sleep(0.5)
    report.check("the same callback again: 200, and no second exchange of its code",
                 again.status == 200 and code_exchanges(stack, record.get("code")) == exchanges_before == 1,
                 again.describe() + f"; exchanges of that code: {exchanges_before} before, {code_exchanges(stack, record.get('code'))} after")
    forged = json.dumps({"authorization": {"code": "A" * 32, "state": "not-the-state"}}).encode()
    wrong_state = stack.client.request("POST", url, body=forged, headers={"Content-Type": "application/json"})
    report.check("callback with a state that does not match its request: 400", wrong_state.status == 400, wrong_state.describe())
    unknown = stack.client.request("POST", stack.base_url + "/callbacks/delegated/unknown-request-id", body=forged,
                                   headers={"Content-Type": "application/json"})
    report.check("callback for an unknown request: 404", unknown.status == 404, unknown.describe())
    malformed = stack.client.request("POST", url, body=b'{"authorization":', headers={"Content-Type": "application/json"})
    report.check("callback with malformed JSON: 400", malformed.status == 400, malformed.describe())
    bad_signature = stack.client.request("POST", url, body=record["body"].encode(),
                                         headers={"Content-Type": "application/json", "Cronofy-HMAC-SHA256": "bm90LWEtc2lnbmF0dXJl"})
    report.check("callback with an invalid Cronofy-HMAC-SHA256: 401", bad_signature.status == 401, bad_signature.describe())
    get = stack.client.request("GET", url)
    report.check("GET on a callback URL is refused by nginx (limit_except POST): 403", get.status == 403, get.describe())
    account = stack.api("GET", "/v1/accounts/" + ALICE).json()
    report.check("alice is still active after the forged and rejected callbacks", account.get("status") == "active", json.dumps(account))


def code_exchanges(stack, code):
    if not code:
        return -1
    calls = stack.sim("GET", "/_simulator/calls?endpoint=token").json()["calls"]
    return sum(1 for call in calls if code in call.get("body", ""))


def token_checks(stack, report):
    first = stack.api("GET", f"/v1/accounts/{ALICE}/token")
    token = first.json() if first.status == 200 else {}
    access = token.get("access_token")
    report.check("GET /v1/accounts/{email}/token: 200 token object issued by Cronofy, no refresh token",
                 first.status == 200 and access in issued(stack)["access_tokens"] and "refresh_token" not in token
                 and token.get("token_type") == "bearer" and token.get("expires_in", 0) > 60
                 and token.get("api_url", "").rstrip("/") == stack.sim_url and token.get("account_id") and token.get("sub"),
                 first.describe())
    encoded = stack.api("GET", "/v1/accounts/" + urllib.parse.quote(ALICE, safe="") + "/token")
    report.check("percent-encoded and upper-cased email address the same account",
                 encoded.status == 200 and encoded.json().get("access_token") == access
                 and stack.api("GET", f"/v1/accounts/{ALICE.upper()}/token").json().get("access_token") == access,
                 encoded.describe())
    refreshed = stack.api("POST", f"/v1/accounts/{ALICE}/refresh")
    new = refreshed.json().get("access_token") if refreshed.status == 200 else None
    report.check("POST /v1/accounts/{email}/refresh: 200 with a new access token from Cronofy",
                 new is not None and new != access and new in issued(stack)["access_tokens"], refreshed.describe())
    served = stack.api("GET", f"/v1/accounts/{ALICE}/token").json().get("access_token")
    report.check("the token route then serves the refreshed token", served == new, f"served a different token: {served == access}")
    longer = stack.api("GET", f"/v1/accounts/{ALICE}/token?min_validity=3600")
    report.check("min_validity=3600 (longer than the token lives) refreshes first",
                 longer.status == 200 and longer.json().get("access_token") not in (access, new, None), longer.describe())
    refused = stack.api("GET", f"/v1/accounts/{REFUSED}/token")
    report.check("token of a failed account: 409 account_not_active",
                 refused.status == 409 and refused.json().get("error", {}).get("code") == "account_not_active", refused.describe())
    unknown = stack.api("GET", "/v1/accounts/nobody@example.com/token")
    report.check("token of an unknown account: 404", unknown.status == 404, unknown.describe())
    anonymous = stack.client.request("GET", f"{stack.internal_url}/v1/accounts/{ALICE}/token")
    wrong = stack.client.request("GET", f"{stack.internal_url}/v1/accounts/{ALICE}/token", headers={"Authorization": "Bearer nope"})
    report.check("internal API without or with a wrong API key: 401",
                 anonymous.status == 401 and wrong.status == 401, anonymous.describe() + " | " + wrong.describe())


def service_account_checks(stack, report, service_account_id):
    token = stack.api("GET", f"/v1/service-accounts/{service_account_id}/token")
    report.check("GET /v1/service-accounts/{id}/token: 200 with a Cronofy-issued token",
                 token.status == 200 and token.json().get("access_token") in issued(stack)["access_tokens"], token.describe())
    resources = stack.api("GET", f"/v1/service-accounts/{service_account_id}/resources")
    report.check("GET /v1/service-accounts/{id}/resources: 200 list of {email,name}",
                 resources.status == 200 and isinstance(resources.json().get("resources"), list), resources.describe())


def revoke_checks(stack, report):
    revokes_before = len(stack.sim("GET", "/_simulator/calls?endpoint=revoke").json()["calls"])
    revoked = stack.api("DELETE", f"/v1/accounts/{BOB}")
    report.check("DELETE /v1/accounts/{email}: 200 revoked, revoked at Cronofy",
                 revoked.status == 200 and revoked.json().get("status") == "revoked"
                 and len(stack.sim("GET", "/_simulator/calls?endpoint=revoke").json()["calls"]) > revokes_before,
                 revoked.describe())
    after = stack.api("GET", f"/v1/accounts/{BOB}/token")
    report.check("token of a revoked account: 409", after.status == 409, after.describe())


def revoke_service_account(stack, report, service_account_id):
    response = stack.api("DELETE", f"/v1/service-accounts/{service_account_id}")
    report.check("DELETE /v1/service-accounts/{id}: 200 revoked",
                 response.status == 200 and response.json().get("status") == "revoked", response.describe())
    statuses = {a["status"] for a in all_accounts(stack) if a.get("service_account_id") == service_account_id}
    report.check("every account under the revoked service account is revoked", statuses <= {"revoked", "failed"} and "revoked" in statuses,
                 f"statuses under it: {sorted(statuses)}")
    events = stack.api("GET", "/v1/events?limit=1000")
    types = {e.get("type") for e in events.json().get("events", [])} if events.status == 200 else set()
    wanted = {"service_account.connected", "service_account.connect_failed", "account.requested", "account.authorized",
              "account.failed", "account.revoked", "service_account.revoked"}
    report.check("GET /v1/events holds every kind of change this run made", wanted <= types,
                 f"missing: {sorted(wanted - types)}; {events.describe(200)}")
    return events.text


def signature_checks(stack, report):
    """With cronofy.require_callback_signature on: a signed callback (Cronofy-HMAC-SHA256 over the
    exact body, through nginx) activates its account; an unsigned one is refused with 401 on every
    retry and changes nothing."""
    stack.stop_ecd()
    stack.sign_callbacks = True
    stack.start_ecd(stack.base_url)
    stack.sim("POST", "/_simulator/callback-signing", json_body={"enabled": True})
    signed, unsigned = "carol@example.com", "dave@example.com"
    stack.api("POST", "/v1/accounts", json_body={"email": signed})
    seen = wait_for_statuses(stack, [signed])
    record = next((c for c in callbacks(stack) if c["email"] == signed), {})
    report.check("required signature: a signed callback through nginx activates the account",
                 seen.get(signed, {}).get("status") == "active" and bool(record.get("signature")),
                 f"status {seen.get(signed, {}).get('status')}, signature sent: {bool(record.get('signature'))}")
    stack.sim("POST", "/_simulator/callback-signing", json_body={"enabled": False})
    stack.api("POST", "/v1/accounts", json_body={"email": unsigned})

    def attempts():
        return [a.get("status") for c in callbacks(stack) if c["email"] == unsigned for a in c["attempts"]]
    # The simulator keeps retrying for ~20 s; three refused attempts are enough to judge.
    wait_until(lambda: len(attempts()) >= 3, 30, interval=0.25)
    statuses = attempts()
    account = stack.api("GET", f"/v1/accounts/{unsigned}").json()
    report.check("required signature: an unsigned callback is 401 on every attempt and the account stays pending",
                 len(statuses) >= 3 and set(statuses) == {401} and account.get("status") == "pending",
                 f"attempt statuses {statuses}, account status {account.get('status')}")
    stack.sim("POST", "/_simulator/callback-signing", json_body={"enabled": True})


def reauthorization_checks(stack, report):
    """Cronofy refuses a refresh token (invalid_grant): ecd asks again through the service account
    by itself (reauthorizing, 409 account_reauthorizing) and the account is active again without a
    human. A second dead grant within accounts.reauthorize_interval_seconds is not re-requested:
    reauthorization_required with its event; asking for it again brings it back to active."""
    email = "erin@example.com"
    stack.api("POST", "/v1/accounts", json_body={"email": email})
    if wait_for_statuses(stack, [email]).get(email, {}).get("status") != "active":
        report.check("reauthorization: erin becomes active first", False, "erin did not become active")
        return
    revoked = stack.sim("POST", "/_simulator/revoke", json_body={"email": email})
    refresh = stack.api("POST", f"/v1/accounts/{email}/refresh")
    report.check("Cronofy answers invalid_grant to a refresh: 409 account_reauthorizing with Retry-After, no token",
                 revoked.json().get("revoked") is True and refresh.status == 409
                 and '"account_reauthorizing"' in refresh.text and "access_token" not in refresh.text
                 and refresh.header("Retry-After") is not None,
                 refresh.describe())
    healed = wait_for_statuses(stack, [email], done=("active", "reauthorization_required")).get(email, {})
    events = stack.api("GET", "/v1/events?limit=1000").json().get("events", [])
    report.check("the dead grant heals by itself: account.reauthorizing, then active again",
                 healed.get("status") == "active"
                 and any(e.get("type") == "account.reauthorizing" and e.get("email") == email for e in events),
                 f"status {healed.get('status')}; last events: {[e.get('type') for e in events[-5:]]}")
    stack.sim("POST", "/_simulator/revoke", json_body={"email": email})
    refresh = stack.api("POST", f"/v1/accounts/{email}/refresh")
    account = stack.api("GET", f"/v1/accounts/{email}").json()
    report.check("a second dead grant within the interval: no token, account reauthorization_required",
                 refresh.status != 200 and "access_token" not in refresh.text
                 and account.get("status") == "reauthorization_required",
                 f"{refresh.describe()}; account status {account.get('status')}")
    events = stack.api("GET", "/v1/events?limit=1000").json().get("events", [])
    report.check("an account.reauthorization_required event names erin",
                 any(e.get("type") == "account.reauthorization_required" and e.get("email") == email for e in events),
                 f"last events: {[e.get('type') for e in events[-5:]]}")
    again = stack.api("POST", "/v1/accounts", json_body={"email": email})
    settled = wait_for_statuses(stack, [email]).get(email, {})
    report.check("requesting erin again: 202 pending, then active with a fresh token",
                 again.status == 202 and settled.get("status") == "active"
                 and stack.api("GET", f"/v1/accounts/{email}/token").status == 200,
                 f"{again.describe()}; status {settled.get('status')}")


def renewal_checks(stack, report):
    """Issue 12: re-requesting an active account never takes it offline. While alice's renewal is
    out (its callback held back by the simulator) the token route keeps answering 200 with her
    current token; the same request without "renew" changes nothing; a renewal whose callback
    comes replaces the token, and the route answered 200 all along."""
    old = stack.api("GET", f"/v1/accounts/{ALICE}/token").json().get("access_token")
    same = stack.api("POST", "/v1/accounts", json_body={"email": ALICE})
    account = (same.json().get("accounts") or [{}])[0] if same.status == 202 else {}
    report.check("the same request for an active account changes nothing (202, active, no renewal)",
                 account.get("status") == "active" and account.get("renewal") is None, same.describe())
    stack.sim("POST", "/_simulator/dropped-callbacks", json_body={"email": ALICE})
    renew = stack.api("POST", "/v1/accounts", json_body={"email": ALICE, "renew": True})
    account = (renew.json().get("accounts") or [{}])[0] if renew.status == 202 else {}
    report.check('"renew": true: 202, alice stays active with renewal.status pending',
                 account.get("status") == "active" and (account.get("renewal") or {}).get("status") == "pending",
                 renew.describe())
    answers = [stack.api("GET", f"/v1/accounts/{ALICE}/token") for _ in range(20)]
    report.check("the token route keeps answering 200 with the current token during the renewal",
                 all(a.status == 200 and a.json().get("access_token") == old for a in answers),
                 "; ".join(a.describe() for a in answers if a.status != 200)[:300])
    stack.sim("DELETE", f"/_simulator/dropped-callbacks/{ALICE}")
    stack.api("POST", "/v1/accounts", json_body={"email": ALICE, "renew": True})
    statuses, renewal, deadline = [], "pending", time.monotonic() + 30
    while renewal is not None and time.monotonic() < deadline:
        statuses.append(stack.api("GET", f"/v1/accounts/{ALICE}/token").status)
        renewal = stack.api("GET", f"/v1/accounts/{ALICE}").json().get("renewal")
        time.sleep(0.1)
    new = stack.api("GET", f"/v1/accounts/{ALICE}/token").json().get("access_token")
    report.check("the renewal's grant replaces the token; the token route answered 200 throughout",
                 renewal is None and new not in (None, old) and new in issued(stack)["access_tokens"]
                 and statuses and all(s == 200 for s in statuses),
                 f"renewal {renewal}; statuses {sorted(set(statuses))}; new token differs: {new != old}")
