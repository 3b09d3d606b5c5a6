"""The system under test: the Cronofy simulator, the ecd binary and real nginx in front of ecd's
public listener, all on free loopback ports with their state in one temporary folder."""
import base64
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess

from . import nginxconf
from .http import Client
from .procs import Processes, wait_until


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_secret(path, text):
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as f:
        f.write(text)


class Stack:
    def __init__(self, repo, ecd_binary, workdir, refuse=(), token_lifetime=None, sign_callbacks=False):
        self.repo = repo
        self.ecd = ecd_binary
        self.workdir = workdir
        self.procs = Processes(workdir)
        self.refuse = list(refuse)
        self.token_lifetime = token_lifetime
        self.sign_callbacks = sign_callbacks
        self.ports = {name: free_port() for name in ("sim", "public", "internal", "http", "tls", "plain")}
        self.client_id = "systest_" + secrets.token_hex(6)
        self.client_secret = secrets.token_hex(24)  # no leading "-", it goes on a command line
        self.api_key = secrets.token_urlsafe(32)
        # One key of each other role (issue 15): tokens limited to a domain, metrics by digest only.
        self.tokens_key = secrets.token_urlsafe(32)
        self.metrics_key = secrets.token_urlsafe(32)
        # events.webhook_secrets during a rotation: the first signs, both are listed.
        self.webhook_secrets = [secrets.token_hex(32), secrets.token_hex(32)]
        self.encryption_key = secrets.token_bytes(32)
        self.webhook_url = None  # events.webhook_url when set
        self.internal_socket = None  # set to a path to move the internal listener to a unix socket
        self.retired_keys = []  # encryption keys rotated out (still secrets to look for)
        self.ecd_runs = 0
        # Secrets the test saw pass by (OAuth states, connect-link tokens), for the secrets scan.
        self.seen_secrets = {"oauth state": [], "connect link token": []}
        self.secrets_dir = os.path.join(workdir, "secrets")
        self.data_dir = os.path.join(workdir, "data")
        self.nginx_prefix = os.path.join(workdir, "nginx")
        self.cert = os.path.join(workdir, "tls", "cert.pem")
        self.key = os.path.join(workdir, "tls", "key.pem")
        self.config_path = os.path.join(workdir, "ecd.json")
        self.client = Client()  # replaced once prepare() made the certificate

    # Addresses.
    @property
    def sim_url(self):
        return f"http://127.0.0.1:{self.ports['sim']}"

    @property
    def internal_url(self):
        """The internal API's base: TCP, or `unix:PATH/` once `internal_socket` is set (paths are
        appended after the extra slash, which Client.request splits on)."""
        if self.internal_socket:
            return f"unix:{self.internal_socket}/"
        return f"http://127.0.0.1:{self.ports['internal']}"

    @property
    def public_url(self):
        return f"http://127.0.0.1:{self.ports['public']}"

    @property
    def tls_url(self):
        return f"https://127.0.0.1:{self.ports['tls']}"

    @property
    def plain_url(self):
        return f"http://127.0.0.1:{self.ports['plain']}"

    @property
    def redirect_url(self):
        return f"http://127.0.0.1:{self.ports['http']}"

    @property
    def db_path(self):
        return os.path.join(self.data_dir, "ecd.sqlite")

    @property
    def audit_path(self):
        return os.path.join(self.data_dir, "audit.log")

    # Preparation.
    def prepare(self):
        for folder in (self.secrets_dir, self.data_dir, os.path.dirname(self.cert), os.path.join(self.workdir, "logs")):
            os.makedirs(folder, mode=0o700, exist_ok=True)
        write_secret(os.path.join(self.secrets_dir, "cronofy_client_secret"), self.client_secret + "\n")
        keys = [self.api_key,
                {"name": "billing", "key": self.tokens_key, "role": "tokens", "domains": ["example.com"]},
                {"name": "prometheus", "key_sha256": hashlib.sha256(self.metrics_key.encode()).hexdigest(), "role": "metrics"}]
        write_secret(os.path.join(self.secrets_dir, "api_keys"), json.dumps(keys) + "\n")
        write_secret(os.path.join(self.secrets_dir, "webhook_secrets"), json.dumps(self.webhook_secrets) + "\n")
        keyring = [{"id": "k1", "key": base64.b64encode(self.encryption_key).decode()}]
        write_secret(os.path.join(self.secrets_dir, "encryption_keys"), json.dumps(keyring) + "\n")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", self.key, "-out", self.cert, "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = Client(cafile=self.cert)
        self.nginx_conf = nginxconf.write_layout(
            self.nginx_prefix, self.repo, self.upstream_ports(), self.ports["http"],
            self.ports["tls"], self.ports["plain"], self.cert, self.key)

    def upstream_ports(self):
        """The public listener(s) nginx proxies to (the cluster test has three)."""
        return self.ports["public"]

    @property
    def callback_base_url(self):
        """Where Cronofy's callbacks arrive: nginx's TLS server, as in production. The simulator
        trusts the test's self-signed certificate through its own `--callback-ca-file`."""
        return self.tls_url

    def spki_sha256(self):
        """base64 SHA-256 of the certificate's public key, as Chromium's SPKI allow-list wants it."""
        public = subprocess.run(["openssl", "x509", "-in", self.cert, "-pubkey", "-noout"], capture_output=True, check=True).stdout
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=public, capture_output=True, check=True).stdout
        return base64.b64encode(hashlib.sha256(der).digest()).decode()

    def write_config(self, base_url):
        """ecd's configuration: loopback listeners, secrets through `_file` keys only."""
        config = {
            "cronofy": {
                "client_id": self.client_id,
                "client_secret_file": os.path.join(self.secrets_dir, "cronofy_client_secret"),
                "api_url": self.sim_url,
                "app_url": self.sim_url,
                "require_callback_signature": self.sign_callbacks,
            },
            "public": {"listen": f"127.0.0.1:{self.ports['public']}", "base_url": base_url},
            "internal": {
                "listen": f"unix:{self.internal_socket}" if self.internal_socket else f"127.0.0.1:{self.ports['internal']}",
                "api_keys_file": os.path.join(self.secrets_dir, "api_keys"),
            },
            "storage": {
                "path": self.db_path,
                "encryption_keys_file": os.path.join(self.secrets_dir, "encryption_keys"),
            },
            # The crash test exchanges hundreds of codes in seconds; production's 400/min would only
            # make the run slower, not different.
            "refresh": {"cronofy_requests_per_minute": 20000},
            "log": {"level": "debug", "format": "json"},
            "audit": {"path": self.audit_path},
        }
        if self.webhook_url:
            config["events"] = {"webhook_url": self.webhook_url,
                                "webhook_secrets_file": os.path.join(self.secrets_dir, "webhook_secrets")}
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=2)

    # Processes.
    def start_simulator(self):
        argv = [self.ecd, "simulator", "--listen", f"127.0.0.1:{self.ports['sim']}",
                "--client-id", self.client_id, "--client-secret", self.client_secret]
        for email in self.refuse:
            argv += ["--refuse", email]
        if self.token_lifetime:
            argv += ["--token-lifetime", str(self.token_lifetime)]
        if self.sign_callbacks:
            argv.append("--sign-callbacks")
        argv += ["--callback-ca-file", self.cert]
        self.procs.start("simulator", argv)
        up = wait_until(lambda: not self.procs.alive("simulator") or self._answers(self.sim_url + "/_simulator/issued"), 20)
        if not up or not self.procs.alive("simulator"):
            raise RuntimeError(f"the simulator did not come up: {self._tail('simulator.err')}")

    def migrate(self):
        result = subprocess.run([self.ecd, "migrate", "--config", self.config_path],
                                cwd=self.workdir, capture_output=True, text=True, timeout=60)
        with open(os.path.join(self.workdir, "logs", "migrate.log"), "w") as f:
            f.write(result.stdout + result.stderr)
        return result

    def start_ecd(self, base_url, wrapper=()):
        self.base_url = base_url
        self.write_config(base_url)
        self.ecd_runs += 1
        self.procs.start("ecd", [*wrapper, self.ecd, "serve", "--config", self.config_path], log_name=f"ecd-{self.ecd_runs}")
        ready = wait_until(lambda: not self.procs.alive("ecd") or self._answers(self.internal_url + "/healthz"), 30)
        if not self.procs.alive("ecd") or not ready:
            raise RuntimeError(f"ecd did not come up: {self._tail(f'ecd-{self.ecd_runs}.err')}")

    def start_nginx(self):
        self.procs.start("nginx", ["nginx", "-c", self.nginx_conf, "-p", self.nginx_prefix + "/",
                                   "-e", os.path.join(self.nginx_prefix, "logs", "error.log"),
                                   "-g", "daemon off;"])
        if not wait_until(lambda: not self.procs.alive("nginx") or self._answers(self.plain_url + "/healthz"), 15):
            raise RuntimeError(f"nginx did not come up: {self._tail('nginx.err')}")

    def kill9_ecd(self):
        self.procs.kill9("ecd")

    def stop_ecd(self):
        """SIGTERM: returns (exit status, stopped in time)."""
        return self.procs.stop("ecd", sig=signal.SIGTERM, timeout=20)

    def shutdown(self):
        self.procs.stop_all()

    def _tail(self, log_name, lines=3):
        path = os.path.join(self.workdir, "logs", log_name)
        try:
            with open(path, errors="replace") as f:
                return " | ".join(f.read().strip().splitlines()[-lines:]) or f"{path} is empty"
        except FileNotFoundError:
            return f"no {path}"

    def _answers(self, url):
        try:
            return self.client.request("GET", url).status == 200
        except OSError:
            return False

    # Clients.
    def api(self, method, path, json_body=None, headers=None):
        all_headers = {"Authorization": f"Bearer {self.api_key}"}
        all_headers.update(headers or {})
        return self.client.request(method, self.internal_url + path, headers=all_headers, json_body=json_body)

    def sim(self, method, path, json_body=None):
        return self.client.request(method, self.sim_url + path, json_body=json_body)

    def log_files(self):
        """Every log the daemon and nginx wrote (the simulator's own log is a test instrument)."""
        files = [os.path.join(self.workdir, "logs", f"ecd-{run}.{ext}")
                 for run in range(1, self.ecd_runs + 1) for ext in ("err", "out")]
        others = ("nginx.err", "nginx.out", "migrate.log", "backup.log", "rewrap.log", "cli-stderr.log", "serve-refused.log")
        files += [os.path.join(self.workdir, "logs", name) for name in others]
        files += [os.path.join(self.nginx_prefix, "logs", name) for name in ("error.log", "access.log")]
        files.append(self.audit_path)
        return [path for path in files if os.path.exists(path)]
