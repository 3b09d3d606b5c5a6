"""A small HTTP client over http.client: no redirects followed, TLS verified against the test's own
CA, a minimal cookie jar. Enough to play a browser through the connect flow and an application
through the internal API."""
import http.client
import json
import socket
import ssl
import urllib.parse


class Response:
    def __init__(self, method, url, status, headers, body):
        self.method = method
        self.url = url
        self.status = status
        self.headers = headers  # list of (name, value) as received
        self.body = body

    def header(self, name):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def all_headers(self, name):
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def describe(self, limit=300):
        """The request and response in one line, for a FAIL message."""
        body = self.text.replace("\n", " ")
        if len(body) > limit:
            body = body[:limit] + "…"
        return f"{self.method} {redact_url(self.url)} -> {self.status} {body}"


def redact_url(url):
    """Query values (codes, states) are not echoed into test output."""
    parts = urllib.parse.urlsplit(url)
    if not parts.query:
        return url
    names = [pair.split("=", 1)[0] for pair in parts.query.split("&")]
    return urllib.parse.urlunsplit(parts._replace(query="&".join(n + "=…" for n in names)))


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (ecd's `internal.listen = unix:PATH`)."""

    def __init__(self, socket_path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


class Client:
    def __init__(self, cafile=None, timeout=20):
        self.timeout = timeout
        self.context = ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()

    def request(self, method, url, headers=None, body=None, json_body=None):
        parts = urllib.parse.urlsplit(url)
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        if parts.scheme == "unix":
            # unix:/path/to.sock//v1/accounts → socket /path/to.sock, target /v1/accounts
            socket_path, _, rest = url[len("unix:"):].partition("//")
            parts = urllib.parse.urlsplit("http://localhost/" + rest)
            connection = UnixHTTPConnection(socket_path, self.timeout)
        elif parts.scheme == "https":
            connection = http.client.HTTPSConnection(parts.hostname, parts.port or 443,
                                                     timeout=self.timeout, context=self.context)
        else:
            connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=self.timeout)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            connection.request(method, target, body=body, headers=headers)
            raw = connection.getresponse()
            data = raw.read()
            return Response(method, url, raw.status, raw.getheaders(), data)
        finally:
            connection.close()


class CookieJar:
    """Cookies by host, with the attributes each was set with (to check HttpOnly/SameSite/Secure)."""

    def __init__(self):
        self.cookies = {}  # (host, name) -> (value, attributes dict lower-cased)

    def store(self, url, response):
        host = urllib.parse.urlsplit(url).hostname
        for line in response.all_headers("Set-Cookie"):
            pieces = [piece.strip() for piece in line.split(";")]
            name, _, value = pieces[0].partition("=")
            attributes = {}
            for piece in pieces[1:]:
                key, _, attr = piece.partition("=")
                attributes[key.lower()] = attr
            self.cookies[(host, name)] = (value, attributes, line)

    def header_for(self, url):
        parts = urllib.parse.urlsplit(url)
        pairs = []
        for (host, name), (value, attributes, _) in self.cookies.items():
            if host != parts.hostname:
                continue
            if "secure" in attributes and parts.scheme != "https":
                continue
            pairs.append(f"{name}={value}")
        return "; ".join(pairs) or None

    def set_cookie_lines(self, host):
        return [line for (h, _), (_, _, line) in self.cookies.items() if h == host]


def follow(client, jar, url, max_hops=8, stop=None):
    """GETs `url` like a browser: stores cookies, follows redirects until a non-3xx answer or until
    `stop(url)` is true for the next location. Returns every response in order."""
    chain = []
    for _ in range(max_hops):
        headers = {}
        cookie = jar.header_for(url)
        if cookie:
            headers["Cookie"] = cookie
        response = client.request("GET", url, headers=headers)
        jar.store(url, response)
        chain.append(response)
        location = response.header("Location")
        if response.status not in (301, 302, 303, 307, 308) or not location:
            return chain
        url = urllib.parse.urljoin(url, location)
        if stop and stop(url):
            return chain
    return chain
