"""A Cronofy simulator and an ecd daemon on free loopback ports, with their secrets and database in
one folder, driven through the daemon's own API (Python stdlib only). Used by
scripts/bench-daemon.sh and scripts/openapi-check.sh."""
import base64
import http.client
import json
import os
import secrets
import socket
import subprocess
import time
import urllib.parse


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_secret(path, text):
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as f:
        f.write(text)


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body) if self.body else None


def request(url, method="GET", body=None, headers=None, timeout=30):
    """One request on its own connection, redirects not followed."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        target = parts.path + ("?" + parts.query if parts.query else "")
        connection.request(method, target or "/", body=body, headers=headers or {})
        answer = connection.getresponse()
        headers = {}
        for name, value in answer.getheaders():
            key = name.lower()
            headers[key] = headers[key] + "\n" + value if key in headers else value
        return Response(answer.status, headers, answer.read())
    finally:
        connection.close()


class Stack:
    """`ecd simulator` plus `ecd serve`. `daemon_cpus` pins the daemon with taskset."""

    def __init__(self, ecd, workdir, token_lifetime=86400, daemon_cpus=None, log_level="warning", callback_delay_ms=0):
        self.ecd = ecd
        self.callback_delay_ms = callback_delay_ms
        self.workdir = workdir
        self.token_lifetime = token_lifetime
        self.daemon_cpus = daemon_cpus
        self.log_level = log_level
        self.ports = {name: free_port() for name in ("sim", "public", "internal")}
        self.client_id = "bench_" + secrets.token_hex(6)
        self.client_secret = secrets.token_hex(24)
        self.api_key = secrets.token_urlsafe(32)
        self.secrets_dir = os.path.join(workdir, "secrets")
        self.keys_file = os.path.join(self.secrets_dir, "encryption_keys")
        self.sim = None
        self.daemon = None
        self.daemon_runs = 0
        os.makedirs(self.secrets_dir, mode=0o700, exist_ok=True)
        write_secret(os.path.join(self.secrets_dir, "client_secret"), self.client_secret + "\n")
        write_secret(os.path.join(self.secrets_dir, "api_keys"), self.api_key + "\n")
        keyring = [{"id": "k1", "key": base64.b64encode(secrets.token_bytes(32)).decode()}]
        write_secret(self.keys_file, json.dumps(keyring) + "\n")

    sim_url = property(lambda self: f"http://127.0.0.1:{self.ports['sim']}")
    public_url = property(lambda self: f"http://127.0.0.1:{self.ports['public']}")
    internal_url = property(lambda self: f"http://127.0.0.1:{self.ports['internal']}")

    def _log(self, name):
        return open(os.path.join(self.workdir, name), "ab")

    def start_simulator(self):
        argv = [self.ecd, "simulator", "--listen", f"127.0.0.1:{self.ports['sim']}",
                "--client-id", self.client_id, "--client-secret", self.client_secret,
                "--token-lifetime", str(self.token_lifetime), "--callback-delay", str(self.callback_delay_ms), "--quiet"]
        self.sim = subprocess.Popen(argv, stdout=self._log("simulator.log"), stderr=subprocess.STDOUT)
        self._wait(lambda: request(self.sim_url + "/_simulator/faults").status == 200, self.sim, "simulator")

    def write_config(self, database):
        config = {
            "cronofy": {
                "client_id": self.client_id,
                "client_secret_file": os.path.join(self.secrets_dir, "client_secret"),
                "api_url": self.sim_url, "app_url": self.sim_url,
            },
            "public": {"listen": f"127.0.0.1:{self.ports['public']}", "base_url": self.public_url},
            "internal": {"listen": f"127.0.0.1:{self.ports['internal']}",
                         "api_keys_file": os.path.join(self.secrets_dir, "api_keys")},
            "storage": {"path": database, "encryption_keys_file": self.keys_file},
            # Seeding exchanges thousands of codes in seconds; production's 400/min would only make
            # the run longer, not different (the simulator does not rate-limit).
            "refresh": {"cronofy_requests_per_minute": 1000000},
            "log": {"level": self.log_level, "format": "json"},
        }
        path = os.path.join(self.workdir, "ecd.json")
        with open(path, "w") as f:
            json.dump(config, f, indent=2)
        return path

    def start_daemon(self, database):
        """Starts `ecd serve` and returns the seconds from exec to the first 200 of /readyz."""
        config = self.write_config(database)
        argv = [self.ecd, "serve", "--config", config]
        if self.daemon_cpus is not None:
            argv = ["taskset", "-c", self.daemon_cpus] + argv
        self.daemon_runs += 1
        auth = {"Authorization": "Bearer " + self.api_key}
        started = time.monotonic()
        self.daemon = subprocess.Popen(argv, stdout=self._log(f"ecd-{self.daemon_runs}.log"), stderr=subprocess.STDOUT)
        ready = None
        while time.monotonic() - started < 30 and self.daemon.poll() is None:
            try:
                if request(self.internal_url + "/readyz", headers=auth, timeout=2).status == 200:
                    ready = time.monotonic() - started
                    break
            except OSError:
                pass
            time.sleep(0.001)
        if ready is None:
            raise RuntimeError(f"ecd did not become ready; see {self.workdir}/ecd-{self.daemon_runs}.log")
        return ready

    def stop_daemon(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.terminate()
            try:
                self.daemon.wait(30)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        self.daemon = None

    def stop(self):
        self.stop_daemon()
        if self.sim and self.sim.poll() is None:
            self.sim.terminate()
            try:
                self.sim.wait(10)
            except subprocess.TimeoutExpired:
                self.sim.kill()
                self.sim.wait()

    @staticmethod
    def _wait(check, process, name, seconds=30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if check():
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{name} did not come up")

    # The daemon's API.
    def api(self, method, path, body=None):
        headers = {"Authorization": "Bearer " + self.api_key}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        return request(self.internal_url + path, method, data, headers)

    def connect_service_account(self):
        """The admin's walk: connect link → authorize page (auto_approve=1) → /oauth/callback with
        the state cookie. Returns the service account's id."""
        link = self.api("POST", "/v1/service-accounts/connect-links", {"label": "bench"})
        if link.status != 201:
            raise RuntimeError(f"connect link: {link.status} {link.body[:200]!r}")
        # The link's page (GET) spends nothing; its button POSTs to the same URL.
        first = request(link.json()["url"], "POST", b"")
        authorize, cookie = first.header("location"), first.header("set-cookie") or ""
        if first.status not in (302, 303) or not authorize:
            raise RuntimeError(f"connect link answered {first.status}")
        approved = request(authorize + ("&" if "?" in authorize else "?") + "auto_approve=1")
        callback = approved.header("location")
        if approved.status != 302 or not callback:
            raise RuntimeError(f"authorize page answered {approved.status}")
        cookies = "; ".join(line.split(";", 1)[0] for line in cookie.split("\n") if line)
        page = request(urllib.parse.urljoin(authorize, callback), headers={"Cookie": cookies})
        if page.status != 200:
            raise RuntimeError(f"/oauth/callback answered {page.status}")
        accounts = self.api("GET", "/v1/service-accounts").json()["service_accounts"]
        return [a for a in accounts if a["status"] == "active"][0]["id"]

    def request_accounts(self, emails, batch=1000):
        for start in range(0, len(emails), batch):
            chunk = [{"email": e} for e in emails[start:start + batch]]
            answer = self.api("POST", "/v1/accounts", {"accounts": chunk})
            if answer.status != 202:
                raise RuntimeError(f"POST /v1/accounts: {answer.status} {answer.body[:300]!r}")

    def count(self, status):
        """Accounts with that status, by paging the list (1,000 a page)."""
        total, after = 0, None
        while True:
            query = {"status": status, "limit": 1000}
            if after:
                query["after"] = after
            page = self.api("GET", "/v1/accounts?" + urllib.parse.urlencode(query)).json()
            total += len(page["accounts"])
            after = page.get("next")
            if not after:
                return total

    def wait_active(self, total, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.api("GET", "/v1/accounts?status=pending&limit=1").json()["accounts"] == []:
                break
            time.sleep(0.5)
        active, failed = self.count("active"), self.count("failed")
        if active != total:
            raise RuntimeError(f"{active} of {total} accounts active ({failed} failed) after {timeout} s")
