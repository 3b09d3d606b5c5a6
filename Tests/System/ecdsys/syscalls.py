"""The unit's seccomp filter against the real binary. systemd kills a service that makes a system
call its `SystemCallFilter=` does not allow (SIGSYS), and PID 1 here is not systemd, so the unit
cannot simply be started: instead ecd runs under strace through real work (migrate, serve with a
token refresh, a delegated-access request, its callback and code exchange, SIGTERM), and every
system call it made must be in the set the shipped unit allows."""
import os
import re
import shutil
import signal
import subprocess
import time

from .accounts import wait_for_statuses
from .procs import wait_until

# As root, SQLite hands a new WAL or journal file to the database's owner (fchown); the unit runs
# ecd as an unprivileged DynamicUser, where SQLite never calls it.
ROOT_ONLY = {"fchown"}

CALL = re.compile(r"^(?:\d+\s+)?(?:<\.\.\. )?([a-z_][a-z0-9_]*)[( ]")


def expand(name, cache):
    """Syscalls of a `@group` (recursively) or the name itself."""
    if not name.startswith("@"):
        return {name}
    if name not in cache:
        cache[name] = set()
        out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True, timeout=30).stdout
        for line in out.splitlines()[1:]:
            token = line.strip()
            if token and not token.startswith("#"):
                cache[name] |= expand(token, cache)
    return cache[name]


def allowed_by_unit(unit_path):
    """(allowed set, or None when the filter is a deny list; denied set; errno setting)."""
    cache, allowed, denied, errno = {}, None, set(), None
    with open(unit_path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("SystemCallErrorNumber="):
                errno = line.split("=", 1)[1]
            if not line.startswith("SystemCallFilter="):
                continue
            value = line.split("=", 1)[1].strip()
            deny = value.startswith("~")
            names = set().union(*(expand(n, cache) for n in value.lstrip("~").split())) if value.lstrip("~").split() else set()
            if allowed is None and not denied and not deny:
                allowed = set(names)          # first line is an allow list: everything else is refused
            elif allowed is not None:
                allowed = allowed - names if deny else allowed | names
            else:
                denied = denied | names if deny else denied - names
    return allowed, denied, errno


def used_syscalls(trace_prefix):
    used = set()
    folder, prefix = os.path.split(trace_prefix)
    for name in os.listdir(folder):
        if name.startswith(prefix):
            with open(os.path.join(folder, name), errors="replace") as f:
                for line in f:
                    match = CALL.match(line)
                    if match:
                        used.add(match.group(1))
    return used


def run(stack, report):
    if shutil.which("strace") is None or shutil.which("systemd-analyze") is None:
        report.skip("seccomp", "the unit's SystemCallFilter allows every system call ecd makes", "needs strace and systemd-analyze")
        return
    probe = subprocess.run(["strace", "-f", "-qq", "-o", os.devnull, "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        report.skip("seccomp", "the unit's SystemCallFilter allows every system call ecd makes",
                    f"strace cannot trace here: {probe.stderr.strip()[:200]}")
        return
    traces = os.path.join(stack.workdir, "strace")
    os.makedirs(traces, exist_ok=True)
    prefix = os.path.join(traces, "ecd")
    strace = ["strace", "-f", "-qq", "-o", prefix, "--output-separately"]
    stack.stop_ecd()
    subprocess.run(strace + [stack.ecd, "migrate", "--config", stack.config_path], cwd=stack.workdir,
                   capture_output=True, timeout=60)
    stack.start_ecd(stack.base_url, wrapper=strace)
    stack.api("GET", "/v1/accounts/alice@example.com/token?min_validity=3600")   # refresh through libcurl
    stack.api("POST", "/v1/accounts", json_body={"email": "frank@example.com"})
    wait_for_statuses(stack, ["frank@example.com"])
    stack.api("GET", "/metrics")
    # SIGTERM to ecd itself (strace's child), then strace ends with it.
    tracer = stack.procs.running["ecd"]
    children = open(f"/proc/{tracer.pid}/task/{tracer.pid}/children").read().split()
    for child in children:
        os.kill(int(child), signal.SIGTERM)
    wait_until(lambda: tracer.poll() is not None, 20)
    stack.procs.stop("ecd")
    time.sleep(0.2)
    stack.start_ecd(stack.base_url)
    allowed, denied, errno = allowed_by_unit(os.path.join(stack.repo, "deploy", "systemd", "ecd.service"))
    used = used_syscalls(prefix) - (ROOT_ONLY if os.geteuid() == 0 else set())
    refused = sorted(used - allowed) if allowed is not None else sorted(used & denied)
    action = f"fail with {errno}" if errno else "kill ecd with SIGSYS"
    report.check(f"the unit's SystemCallFilter allows all {len(used)} system calls ecd made (migrate, serve, refresh, "
                 "callback, SIGTERM)", bool(used) and not refused,
                 f"refused by the unit (they would {action}): {refused}")
