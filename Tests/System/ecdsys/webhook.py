"""api-contract.md §5: with `events.webhook_url` set, every event is POSTed there, signed
`ECD-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with one `v1=` per
`events.webhook_secrets` entry, retried until accepted, in order. The receiver refuses its first
requests to make the daemon retry."""
import hashlib
import hmac
import http.server
import json
import os
import threading
import time
from unittest import mock

from .procs import wait_until


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A daemon killed with -9 resets its keep-alive connections: expected, not worth a trace."""


class Receiver:
    def __init__(self, refuse_first=2):
        self.received = []  # (signature header, body bytes, answered status)
        self.lock = threading.Lock()
        self.refuse_first = refuse_first
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The daemon was kill -9'd mid-POST: nothing was delivered, and nobody is
                    # left to answer. Not counted (an empty or cut body would be misread as an
                    # accepted delivery); the restarted daemon sends the event again.
                    return
                with receiver.lock:
                    status = 500 if len(receiver.received) < receiver.refuse_first else 200
                    receiver.received.append((self.headers.get("ECD-Signature"), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ecd-events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accepted_ids(self):
        with self.lock:
            return [json.loads(body).get("id") for _, body, status in self.received if status == 200]

    def bodies(self):
        with self.lock:
            return b"\n".join(body for _, body, _ in self.received).decode("utf-8", "replace")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def all_events(stack):
    """Every event, following `next_after`."""
    everything, after = [], None
    while True:
        response = stack.api("GET", "/v1/events?limit=1000" + (f"&after={after}" if after is not None else ""))
        events = response.json().get("events", [])
        if not events:
            return everything
        everything += events
        after = response.json().get("next_after") or events[-1]["id"]


def readme_receiver(repo):
    """The receiver README "Webhooks" shows, run as written: what an integrator copies is what is
    checked against the real deliveries (a README whose receiver accepted a replay, or refused a
    good delivery, fails here)."""
    with open(os.path.join(repo, "README.md")) as f:
        section = f.read().split("### Webhooks", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(compile(code, "README.md (Webhooks)", "exec"), namespace)
    readme_verify = namespace["verify"]

    def verify(header, body, secret, now=None):
        if now is None:
            return readme_verify(header or "", body, secret)
        with mock.patch("time.time", return_value=now):
            return readme_verify(header or "", body, secret)
    return verify


def check(stack, report, receiver):
    verify = readme_receiver(stack.repo)
    ids = [e["id"] for e in all_events(stack)]
    wait_until(lambda: ids and max(receiver.accepted_ids() or [0]) >= max(ids), 60, interval=0.5)
    with receiver.lock:
        received = list(receiver.received)
    for index, secret in enumerate(stack.webhook_secrets):
        bad = [i for i, (signature, body, _) in enumerate(received) if not verify(signature, body, secret.encode())]
        report.check(f"webhook: every one of {len(received)} POSTs verifies with secret {index + 1} of the rotation",
                     not bad and received, f"{len(bad)} bad signatures, e.g. POST #{bad[:3]}")
    wrong = [i for i, (signature, body, _) in enumerate(received) if verify(signature, body, stack.api_key.encode())]
    report.check("webhook: no POST verifies with the API key (webhooks have their own secret)", not wrong, f"POST #{wrong[:3]}")
    replayed = [i for i, (signature, body, _) in enumerate(received)
                if verify(signature, body, stack.webhook_secrets[0].encode(), now=time.time() + 600)]
    report.check("webhook: a delivery replayed ten minutes later is refused by the README's receiver (its signed t= is too old)",
                 not replayed and received, f"POST #{replayed[:3]}")
    # t is inside the MAC: the same signatures under a fresh t (a replay made to look new) are refused.
    # One clock reading for the whole check, and a fresh t that differs from the delivery's own
    # (a delivery signed this very second would otherwise be "forged" into itself and verify).
    now = int(time.time())
    forged = []
    for i, (signature, body, _) in enumerate(received):
        parts = (signature or "").split(",")
        signed_t = next((p[2:] for p in parts if p.startswith("t=")), "")
        fresh = now + 1 if signed_t == str(now) else now
        fields = [p for p in parts if not p.startswith("t=")]
        if verify(",".join([f"t={fresh}"] + fields), body, stack.webhook_secrets[0].encode(), now=now):
            forged.append(i)
    report.check("webhook: a delivery whose t= is replaced by a fresh one is refused by the README's receiver",
                 not forged and received, f"POST #{forged[:3]}")
    refused = [json.loads(body).get("id") for _, body, status in received if status != 200]
    accepted = receiver.accepted_ids()
    first_seen = list(dict.fromkeys(accepted))
    # Empty sets are subsets of anything: the run produced events, and the receiver refused some,
    # so neither set may be empty for the check to mean something.
    report.check(f"webhook: the {receiver.refuse_first} refused deliveries were retried and every event "
                 f"({len(ids)}) was accepted, in order",
                 bool(ids) and bool(accepted) and len(refused) >= receiver.refuse_first > 0
                 and set(ids) <= set(accepted) and first_seen == sorted(first_seen) and set(refused) <= set(accepted),
                 f"{len(ids)} events, {len(accepted)} accepted, {len(refused)} refused; "
                 f"missing {sorted(set(ids) - set(accepted))[:10]}, out of order: {first_seen != sorted(first_seen)}")
    duplicates = len(accepted) - len(first_seen)
    report.check(f"webhook: at most a few redeliveries across the kill -9 restarts ({duplicates})", duplicates <= 10,
                 f"{duplicates} events accepted more than once")
