"""Which listener serves what, as seen through nginx: the internal API is unreachable from outside,
each listener 404s the other's routes, and nginx adds TLS and its redirect."""


INTERNAL_PATHS = ["/v1/accounts", "/metrics", "/readyz", "/v1/service-accounts", "/v1/events",
                  "/v1/accounts/alice@example.com/token"]
TRAVERSALS = ["/connect/../v1/accounts", "/connect/%2e%2e/v1/accounts", "/connect/..%2fv1%2faccounts",
              "/callbacks/delegated/../../metrics"]


def run(stack, report):
    key = {"Authorization": f"Bearer {stack.api_key}"}
    for base, label in ((stack.tls_url, "nginx TLS"), (stack.plain_url, "nginx plain")):
        for path in INTERNAL_PATHS:
            response = stack.client.request("GET", base + path, headers=key)
            report.check(f"{label}: GET {path} with a valid API key is 404", response.status == 404, response.describe())
        for path in TRAVERSALS:
            response = stack.client.request("GET", base + path, headers=key)
            report.check(f"{label}: GET {path} (dot segments) is 400 or 404", response.status in (400, 404), response.describe())
        health = stack.client.request("GET", base + "/healthz")
        report.check(f"{label}: GET /healthz is 200 {{\"status\":\"ok\"}}",
                     health.status == 200 and health.json() == {"status": "ok"}, health.describe())
        post = stack.client.request("POST", base + "/healthz", body=b"{}")
        report.check(f"{label}: POST /healthz is refused by nginx (403)", post.status == 403, post.describe())
    for path in INTERNAL_PATHS:
        response = stack.client.request("GET", stack.public_url + path, headers=key)
        report.check(f"ecd public listener: GET {path} is 404", response.status == 404, response.describe())
    for path in ("/connect/some-link", "/oauth/callback?code=x&state=y"):
        response = stack.api("GET", path)
        report.check(f"ecd internal listener: GET {path.split('?')[0]} is 404", response.status == 404, response.describe())
    response = stack.api("POST", "/callbacks/delegated/some-request", json_body={})
    report.check("ecd internal listener: POST /callbacks/delegated/… is 404", response.status == 404, response.describe())
    hsts = stack.client.request("GET", stack.tls_url + "/healthz").header("Strict-Transport-Security")
    report.check("nginx TLS adds Strict-Transport-Security", bool(hsts and "max-age=" in hsts), f"header: {hsts}")
    redirect = stack.client.request("GET", stack.redirect_url + "/healthz")
    report.check("nginx port 80 server: 301 to https", redirect.status == 301
                 and (redirect.header("Location") or "").startswith("https://"), redirect.describe())
    ready = stack.api("GET", "/readyz")
    report.check("ecd internal listener: GET /readyz is 200", ready.status == 200, ready.describe())
    metrics = stack.api("GET", "/metrics")
    report.check("ecd internal listener: GET /metrics is Prometheus text",
                 metrics.status == 200 and "# TYPE" in metrics.text, metrics.describe(120))
