"""The README's operations, done to the running system: encryption-key rotation (new key first,
restart, `ecd keys rewrap`, old key removed, restart) keeps every token readable; the database
file is private; `ecd demo` runs the whole flow on its own."""
import base64
import json
import os
import secrets
import subprocess

from .procs import wait_until
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
    # The daemon holds the database: rewrap asks it (its internal API, with an API key).
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECD_")}
    env["ECD_API_KEY"] = stack.api_key
    url = f"unix:{stack.internal_socket}" if stack.internal_socket else stack.internal_url
    result = subprocess.run([stack.ecd, "keys", "rewrap", "--config", stack.config_path, "--url", url],
                            capture_output=True, text=True, timeout=60, cwd=stack.workdir, env=env)
    with open(os.path.join(stack.workdir, "logs", "rewrap.log"), "w") as f:
        f.write(result.stdout + result.stderr)
    moved = {}
    try:
        moved = json.loads(result.stdout).get("secrets_by_key_id", {})
    except ValueError:
        pass
    report.check("ecd keys rewrap with the new key first: the daemon rewraps, nothing left under k1",
                 result.returncode == 0 and "asking it to rewrap" in result.stderr and "k1" not in moved and moved.get("k2", 0) > 0,
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


def cli(stack, *args, key=True, timeout=30):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECD_")}
    if key:
        env["ECD_API_KEY"] = stack.api_key
    url = f"unix:{stack.internal_socket}" if stack.internal_socket else stack.internal_url
    result = subprocess.run([stack.ecd, *args, "--url", url], capture_output=True, text=True,
                            timeout=timeout, cwd=stack.workdir, env=env)
    # Standard error only: standard output of `ecd token` is the token itself, by design.
    append_log(stack, "cli-stderr.log", result.stderr)
    return result


def append_log(stack, name, text):
    with open(os.path.join(stack.workdir, "logs", name), "a") as f:
        f.write(text)


def cli_checks(stack, report, transport):
    """The thin clients of the internal API, as an operator runs them."""
    issued = stack.sim("GET", "/_simulator/issued").json()["access_tokens"]
    token = cli(stack, "token", ALICE)
    try:
        printed = json.loads(token.stdout).get("access_token")
    except ValueError:
        printed = None
    report.check(f"ecd token EMAIL over {transport}: exit 0, prints a Cronofy-issued token",
                 token.returncode == 0 and printed in issued, f"exit {token.returncode}: {token.stderr.strip()[:200]}")
    listed = cli(stack, "accounts", "list", "--status", "active", "--limit", "5")
    report.check(f"ecd accounts list over {transport}: exit 0", listed.returncode == 0 and ALICE in listed.stdout,
                 f"exit {listed.returncode}: {(listed.stdout + listed.stderr).strip()[:200]}")
    unknown = cli(stack, "token", "nobody@example.com")
    report.check(f"ecd token of an unknown account over {transport}: exit 1 with a message",
                 unknown.returncode == 1 and unknown.stderr.strip() != "", f"exit {unknown.returncode}: {unknown.stderr.strip()[:200]}")
    keyless = cli(stack, "token", ALICE, key=False)
    report.check(f"ecd token without ECD_API_KEY over {transport}: fails without printing a token",
                 keyless.returncode != 0 and not any(t in keyless.stdout for t in issued),
                 f"exit {keyless.returncode}: {keyless.stderr.strip()[:200]}")


def startup_failures(stack, report):
    """A second daemon on the same database and ports, and a configuration Cronofy could not call
    back: each exits 1 with a message before serving anything, and the running daemon is unharmed."""
    second = subprocess.run([stack.ecd, "serve", "--config", stack.config_path], capture_output=True, text=True,
                            timeout=30, cwd=stack.workdir)
    append_log(stack, "serve-refused.log", second.stdout + second.stderr)
    report.check("a second ecd serve on the database a daemon holds exits 1 naming it and the daemon's pid",
                 second.returncode == 1 and f"database {stack.db_path} is in use by ecd (pid " in second.stderr,
                 f"exit {second.returncode}: {second.stderr.strip()[-200:]}")
    with open(stack.config_path) as f:
        config = json.load(f)
    config["public"]["base_url"] = "http://ecd.example.com"
    bad = os.path.join(stack.workdir, "insecure.json")
    with open(bad, "w") as f:
        json.dump(config, f)
    insecure = subprocess.run([stack.ecd, "serve", "--config", bad], capture_output=True, text=True,
                              timeout=30, cwd=stack.workdir)
    append_log(stack, "serve-refused.log", insecure.stdout + insecure.stderr)
    report.check("ecd serve with an http base_url on a public host exits 1 naming public.base_url",
                 insecure.returncode == 1 and "public.base_url" in insecure.stderr,
                 f"exit {insecure.returncode}: {insecure.stderr.strip()[-200:]}")
    health = stack.api("GET", "/healthz")
    report.check("the running daemon still answers after both", health.status == 200, health.describe())


def unix_socket(stack, report):
    """internal.listen = unix:PATH (what the unit's RuntimeDirectory is for): the API and the CLI
    work over it, and the TCP port is closed."""
    stack.stop_ecd()
    run_dir = os.path.join(stack.workdir, "run")
    os.makedirs(run_dir, mode=0o750, exist_ok=True)
    stack.internal_socket = os.path.join(run_dir, "ecd.sock")
    stack.start_ecd(stack.base_url)
    listed = stack.api("GET", "/v1/accounts?limit=1")
    report.check("internal API over a unix socket: GET /v1/accounts is 200", listed.status == 200, listed.describe())
    anonymous = stack.client.request("GET", stack.internal_url + "/v1/accounts")
    report.check("internal API over a unix socket still needs the API key (401)", anonymous.status == 401, anonymous.describe())
    try:
        stack.client.request("GET", f"http://127.0.0.1:{stack.ports['internal']}/healthz")
        tcp_closed = False
    except OSError:
        tcp_closed = True
    report.check("with a unix socket configured, the internal TCP port is not listening", tcp_closed)
    cli_checks(stack, report, "a unix socket")


def drain(stack, report):
    """SIGTERM while a request is in flight (a refresh held back 1.5 s by the simulator): the
    request still gets its 200, then the daemon exits 0."""
    import threading
    import time
    # The one-shot slow fault goes to the next token call, whoever makes it: first let the work
    # earlier stages left behind (re-sent requests and the exchanges of their callbacks after the
    # kill -9 stage) settle, so that call is this stage's refresh. Settled: no token call for 1 s.
    def token_calls():
        return len(stack.sim("GET", "/_simulator/calls?endpoint=token").json()["calls"])
    seen = {"count": token_calls(), "since": time.monotonic()}

    def quiet():
        count = token_calls()
        if count != seen["count"]:
            seen.update(count=count, since=time.monotonic())
        return time.monotonic() - seen["since"] >= 1.0
    settled = wait_until(quiet, 30, interval=0.2)
    stack.sim("POST", "/_simulator/faults", json_body={"endpoint": "token", "fault": "slow@1500", "count": 1})
    result = {}

    def refresh():
        started = time.monotonic()
        try:
            result["response"] = stack.api("POST", f"/v1/accounts/{ALICE}/refresh")
        except OSError as error:
            result["error"] = error
        result["seconds"] = time.monotonic() - started
    def pending_slow_faults():
        faults = stack.sim("GET", "/_simulator/faults").json().get("faults", [])
        return [f for f in faults if f.get("endpoint") == "token" and str(f.get("fault", "")).startswith("slow")]
    thread = threading.Thread(target=refresh)
    thread.start()
    # The simulator takes the fault when the daemon's token request arrives: from then on the
    # refresh is in flight for 1.5 s, whatever the machine's load. SIGTERM goes in then.
    arrived = wait_until(lambda: not pending_slow_faults(), 20)
    in_flight = thread.is_alive()
    status, in_time = stack.stop_ecd()
    thread.join(timeout=30)
    response = result.get("response")
    seconds = result.get("seconds", 0)
    report.check(f"SIGTERM during an in-flight refresh ({seconds:.1f} s long): the request completes with 200, then ecd exits 0",
                 arrived and in_flight and response is not None and response.status == 200 and status == 0 and in_time and seconds >= 1.0,
                 f"token calls settled before the fault: {bool(settled)}; "
                 f"token request reached the simulator before SIGTERM: {bool(arrived)}, still in flight then: {in_flight}; "
                 f"{response.describe() if response else result.get('error')}; exit status {status}, in time {in_time}, "
                 f"request took {seconds:.2f} s")
    stack.sim("DELETE", "/_simulator/faults")
    stack.start_ecd(stack.base_url)
