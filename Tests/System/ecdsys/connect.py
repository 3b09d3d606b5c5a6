"""The service-account connect flow through nginx, as the admin's browser walks it: connect link
→ landing page (link previews fetch it too, and spend nothing) → its button's POST → 303 to the
(simulated) Cronofy authorize page with a state cookie → approve → 302 back to /oauth/callback →
success page naming the service account."""
import urllib.parse

from .http import CookieJar, follow


def create_link(stack, report, label="systest"):
    response = stack.api("POST", "/v1/service-accounts/connect-links", json_body={"label": label})
    ok = response.status == 201
    url = response.json().get("url", "") if ok else ""
    report.check(f"connect link ({label}): POST /v1/service-accounts/connect-links answers 201 with a URL under base_url",
                 ok and url.startswith(stack.base_url + "/connect/") and "expires_at" in response.json(),
                 response.describe())
    return url if ok else None


def press_continue(stack, jar, link):
    """The landing page's "Continue to Cronofy" button: a POST of an empty form to the link."""
    response = stack.client.request("POST", link, headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b"")
    jar.store(link, response)
    return response


def walk_to_callback(stack, link, previews=0):
    """Fetches the link `previews` times as a chat app's link preview would, POSTs its button, then
    GETs the authorize page with auto_approve=1; stops before /oauth/callback.
    Returns (jar, responses, callback URL or None)."""
    jar = CookieJar()
    stack.seen_secrets["connect link token"].append(link.rsplit("/", 1)[-1])
    looks = [stack.client.request("HEAD" if look % 2 else "GET", link) for look in range(previews)]
    first = looks + [press_continue(stack, jar, link)]
    authorize = first[-1].header("Location") if first[-1].status == 303 else None
    if authorize:
        state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query)).get("state")
        if state:
            stack.seen_secrets["oauth state"].append(state)
    if not authorize:
        return jar, first, None
    separator = "&" if "?" in authorize else "?"
    chain = follow(stack.client, jar, authorize + separator + "auto_approve=1",
                   stop=lambda url: url.startswith(stack.base_url))
    location = chain[-1].header("Location") if chain else None
    callback = urllib.parse.urljoin(authorize, location) if location else None
    return jar, first + chain, callback


def get_with(stack, jar, url):
    headers = {}
    cookie = jar.header_for(url) if jar else None
    if cookie:
        headers["Cookie"] = cookie
    return stack.client.request("GET", url, headers=headers)


def run(stack, report):
    """The whole flow with its refusals. Returns the connected service account's id, or None."""
    link = create_link(stack, report)
    if not link:
        return None
    landing = stack.client.request("GET", link)
    report.check("connect link GET: 200 landing page, no-store, noindex, a POST button, no cookie",
                 landing.status == 200 and landing.header("Cache-Control") == "no-store"
                 and 'content="noindex"' in landing.text and '<form method="post"' in landing.text
                 and "Continue to Cronofy" in landing.text and landing.header("Set-Cookie") is None,
                 landing.describe())
    # Slack, Teams and Outlook Safe Links fetch links before the admin clicks them.
    jar, responses, callback = walk_to_callback(stack, link, previews=4)
    report.check("connect link: four link previews (GET, HEAD) first, each 200, none spends the link",
                 [r.status for r in responses[:4]] == [200] * 4, " | ".join(r.describe(80) for r in responses[:4]))
    first = responses[4]
    authorize = first.header("Location") or ""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query))
    report.check("connect link POST (the button): 303 to the Enterprise Connect authorize URL with every parameter",
                 first.status == 303 and authorize.startswith(stack.sim_url + "/enterprise_connect/oauth/authorize")
                 and query.get("response_type") == "code" and query.get("client_id") == stack.client_id
                 and query.get("redirect_uri") == stack.base_url + "/oauth/callback"
                 and query.get("scope") and query.get("delegated_scope") and query.get("state"),
                 first.describe() + f" Location={authorize.split('?')[0]} params={sorted(query)}")
    cookies = [attributes for (_, _), (_, attributes, _) in jar.cookies.items()]
    secure_needed = stack.base_url.startswith("https:")
    report.check("connect link: the state cookie is HttpOnly, SameSite=Lax" + (", Secure" if secure_needed else ", not Secure (http base_url)"),
                 len(cookies) >= 1 and all("httponly" in a and a.get("samesite", "").lower() == "lax"
                                           and ("secure" in a) == secure_needed for a in cookies),
                 f"Set-Cookie lines: {[line.split(';', 1)[-1] for line in jar.set_cookie_lines('127.0.0.1')]}")
    if not callback or not callback.startswith(stack.base_url + "/oauth/callback?"):
        report.check("authorize page with auto_approve=1 redirects to /oauth/callback", False,
                     " | ".join(r.describe(120) for r in responses))
        return None
    page = get_with(stack, jar, callback)
    report.check("oauth callback through nginx: 200 page naming the service account's domain and provider",
                 page.status == 200 and "example.com" in page.text and "google" in page.text.lower()
                 and "text/html" in (page.header("Content-Type") or ""), page.describe())
    replay = get_with(stack, jar, callback)
    report.check("oauth callback replayed (used state and code): 400 page", replay.status == 400, replay.describe())
    again = stack.client.request("POST", link)
    report.check("connect link used twice: 410 page", again.status == 410, again.describe())
    look = stack.client.request("GET", link)
    report.check("connect link looked at after use: 410 page", look.status == 410, look.describe())
    unknown = stack.client.request("GET", stack.base_url + "/connect/this-link-does-not-exist")
    report.check("unknown connect link: 410 page", unknown.status == 410, unknown.describe())
    refusals(stack, report)
    listed = stack.api("GET", "/v1/service-accounts")
    accounts = listed.json().get("service_accounts", []) if listed.status == 200 else []
    active = [a for a in accounts if a.get("status") == "active"]
    report.check("GET /v1/service-accounts lists exactly one active service account, domain example.com",
                 len(active) == 1 and active[0].get("domain") == "example.com" and active[0].get("id", "").startswith("ser_"),
                 listed.describe())
    return active[0]["id"] if len(active) == 1 else None


def refusals(stack, report):
    """A callback without the browser's cookie, and Cronofy's ?error=access_denied: each a 400 page,
    and neither connects anything."""
    link = create_link(stack, report, label="systest-no-cookie")
    if link:
        _, responses, callback = walk_to_callback(stack, link)
        if callback:
            page = get_with(stack, None, callback)
            report.check("oauth callback without the state cookie: 400 page", page.status == 400, page.describe())
        else:
            report.check("second connect link reaches /oauth/callback", False, " | ".join(r.describe(120) for r in responses))
    link = create_link(stack, report, label="systest-denied")
    if link:
        jar = CookieJar()
        first = press_continue(stack, jar, link)
        state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(first.header("Location") or "").query)).get("state", "")
        denied = get_with(stack, jar, stack.base_url + "/oauth/callback?" +
                          urllib.parse.urlencode({"error": "access_denied", "state": state}))
        report.check("oauth callback with error=access_denied: 400 page that says so",
                     denied.status == 400 and "denied" in denied.text.lower(), denied.describe())
