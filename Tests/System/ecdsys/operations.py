"""The README's operations, done to the running system: encryption-key rotation (new key first,
restart, `ecd keys rewrap`, old key removed, restart) keeps every token readable; the database
file is private; `ecd demo` runs the whole flow on its own."""
import base64
import json
import os
import secrets
import subprocess

from .stack import write_secret

ALICE = "alice@example.com"


def key_rotation(stack, report):
    before = stack.api("GET", f"/v1/accounts/{ALICE}/token")
    if not report.check("key rotation: alice has a token before the rotation", before.status == 200, before.describe()):
        return
    old = {"id": "k1", "key": base64.b64encode(stack.encryption_key).decode()}
    new_bytes = secrets.token_bytes(32)
    new = {"id": "k2", "key": base64.b64encode(new_bytes).decode()}
    path = os.path.join(stack.secrets_dir, "encryption_keys")
    write_secret(path, json.dumps([new, old]) + "\n")
    stack.retired_keys.append(stack.encryption_key)
    stack.encryption_key = new_bytes
    stack.stop_ecd()
    stack.start_ecd(stack.base_url)
    result = subprocess.run([stack.ecd, "keys", "rewrap", "--config", stack.config_path],
                            capture_output=True, text=True, timeout=60, cwd=stack.workdir)
    with open(os.path.join(stack.workdir, "logs", "rewrap.log"), "w") as f:
        f.write(result.stdout + result.stderr)
    report.check("ecd keys rewrap with the new key first: exit 0", result.returncode == 0,
                 f"exit {result.returncode}: {(result.stdout + result.stderr).strip()[:300]}")
    write_secret(path, json.dumps([new]) + "\n")
    stack.stop_ecd()
    stack.start_ecd(stack.base_url)
    after = stack.api("GET", f"/v1/accounts/{ALICE}/token")
    report.check("after rewrap and removing the old key, the restarted daemon serves the same token",
                 after.status == 200 and after.json().get("access_token") == before.json().get("access_token"),
                 after.describe())


def database_mode(stack, report):
    mode = os.stat(stack.db_path).st_mode & 0o777
    report.check("the database file is created mode 0600", mode == 0o600, f"mode {oct(mode)}")


def demo(stack, report):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECD_")}
    result = subprocess.run([stack.ecd, "demo"], capture_output=True, text=True, timeout=120,
                            cwd=stack.workdir, env=env)
    with open(os.path.join(stack.workdir, "logs", "demo.log"), "w") as f:
        f.write(result.stdout + result.stderr)
    report.check("ecd demo runs the whole flow with no setup and exits 0", result.returncode == 0,
                 f"exit {result.returncode}: {result.stderr.strip()[-300:]}")
