"""api-contract.md §6: no token, code, state, client secret, API key or encryption key in the logs, and
no token, code or state in clear text in the database, its WAL or a backup."""
import base64
import os

from .accounts import callbacks, issued


def collect(stack):
    """name -> list of secret strings, from the simulator's records and the test's own secrets."""
    record = issued(stack)
    states = [c["state"] for c in callbacks(stack) if c.get("state")]
    return {
        "access token": record.get("access_tokens", []),
        "refresh token": record.get("refresh_tokens", []),
        "code": record.get("codes", []),
        "callback state": states,
        "client secret": [stack.client_secret],
        "API key": [stack.api_key, stack.tokens_key, stack.metrics_key],
        "webhook secret": list(stack.webhook_secrets),
        "encryption key": [base64.b64encode(k).decode() for k in [stack.encryption_key, *stack.retired_keys]],
        "oauth state": list(stack.seen_secrets["oauth state"]),
    }


def find(paths, secrets):
    """(path, kind) pairs for every secret found in clear text, plain bytes or as a JSON-escaped or
    percent-encoded variant."""
    hits = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        for kind, values in secrets.items():
            for value in values:
                if len(value) < 8:
                    continue
                variants = {value, value.replace("/", "\\/"), value.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")}
                if any(v.encode() in data for v in variants):
                    hits.append((os.path.basename(path), kind))
                    break
    return hits


def url_cache_files():
    """Foundation's URLSession keeps a disk cache under ~/.cache/org.swift.foundation.URLCache/<process
    name>: a token response cached there would be a token in clear text on disk."""
    folder = os.path.expanduser("~/.cache/org.swift.foundation.URLCache/ecd")
    found = []
    for root, _, names in os.walk(folder):
        found += [os.path.join(root, name) for name in names]
    return found


def database_files(stack, extra=()):
    paths = (stack.db_path, stack.db_path + "-wal", stack.db_path + "-shm", *extra, *url_cache_files())
    return [p for p in paths if os.path.exists(p)]


def check(stack, report, label, extra_db_files=(), also_text=()):
    secrets = collect(stack)
    counts = {kind: len(values) for kind, values in secrets.items()}
    report.check(f"{label}: the simulator issued tokens and codes to look for",
                 counts["access token"] > 0 and counts["code"] > 0, f"{counts}")
    logs = stack.log_files()
    hits = find(logs, secrets)
    report.check(f"{label}: no secret in {len(logs)} log files of ecd and nginx ({sum(counts.values())} secrets)",
                 not hits, f"found: {sorted(set(hits))}")
    # Connect-link tokens are stored hashed (data-model.md §3); they may appear in access logs.
    db_secrets = dict(secrets, **{"connect link token": list(stack.seen_secrets["connect link token"])})
    files = database_files(stack, extra_db_files)
    hits = find(files, db_secrets)
    report.check(f"{label}: no secret in clear text in {', '.join(os.path.basename(f) for f in files)}",
                 not hits and files, f"found: {sorted(set(hits))}")
    for name, text in also_text:
        leaked = [kind for kind, values in secrets.items() if any(len(v) >= 8 and v in text for v in values)]
        report.check(f"{label}: no secret in {name}", not leaked, f"found: {leaked}")
