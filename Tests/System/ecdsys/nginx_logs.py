"""The shipped nginx files with ecd stopped behind them (every proxied request fails upstream, the
case nginx logs at `error` with the request line): no one-time code, state or callback request id
reaches nginx's error or access log, the port-80 redirect is not logged, and the public routes are
rate-limited. Runs while ecd is down, between the two phases of the system test."""
import os
import secrets

from .procs import wait_until


# Both are logged at `error` with the request line: 502 (upstream refused) and 429 (rate limit).
FAILED = {502, 429}


def _marked(prefix):
    return f"{prefix}-{secrets.token_hex(8)}"


def _logs(stack):
    found = {}
    for name in ("error.log", "access.log"):
        path = os.path.join(stack.nginx_prefix, "logs", name)
        if os.path.exists(path):
            with open(path, "rb") as f:
                found[name] = f.read()
    return found


def run(stack, report):
    http_url = f"http://127.0.0.1:{stack.ports['http']}"
    markers = []
    answers = []
    for label, base in (("TLS", stack.tls_url), ("plain", stack.plain_url)):
        code, state, request_id = _marked("nginxlog-code"), _marked("nginxlog-state"), _marked("nginxlog-request")
        markers += [code, state, request_id]
        answers.append((f"{label} GET /oauth/callback",
                        stack.client.request("GET", f"{base}/oauth/callback?code={code}&state={state}").status, FAILED))
        answers.append((f"{label} POST /callbacks/delegated/…",
                        stack.client.request("POST", f"{base}/callbacks/delegated/{request_id}", json_body={"code": code}).status, FAILED))
    code, state = _marked("nginxlog-code"), _marked("nginxlog-state")
    markers += [code, state]
    answers.append(("port 80 GET /oauth/callback", stack.client.request("GET", f"{http_url}/oauth/callback?code={code}&state={state}").status, {301}))
    report.check("with ecd stopped, nginx answers 502 (or 429, if earlier stages used up the rate limit) and 301 on port 80",
                 all(status in expected for _, status, expected in answers),
                 ", ".join(f"{label}: {status}" for label, status, _ in answers))
    leaked = sorted({name for name, data in _logs(stack).items() for marker in markers if marker.encode() in data})
    report.check("nginx's error and access logs hold no code, state or callback request id of a failed or redirected request",
                 not leaked, f"found in {leaked}")

    # The admin's browser routes take 5 requests a second with a burst of 20 per address (shared by
    # both servers, and partly used by the stages before): at most 21 of a quick 40 pass, plus
    # what drained meanwhile.
    statuses = [stack.client.request("GET", f"{stack.plain_url}/oauth/callback?code=x&state=y").status for _ in range(40)]
    report.check("40 rapid GETs of /oauth/callback from one address: at most the burst reaches ecd (502, it is down), the rest is 429",
                 set(statuses) <= {502, 429} and 429 in statuses and statuses.count(502) <= 25, f"statuses {statuses}")
    # The bucket empties at 5 requests a second: a client that slows down gets through again.
    drained = wait_until(lambda: stack.client.request("GET", f"{stack.plain_url}/oauth/callback").status != 429, 15)
    report.check("the rate limit lets requests through again once the address slows down", drained, "still 429 after 15 s")
