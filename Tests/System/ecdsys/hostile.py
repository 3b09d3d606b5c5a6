"""Runs the hostile battery at ecd's public listener and through nginx (TLS), checking each answer
and that ecd still answers /healthz after every one."""
import ssl
import threading

from .hostile_cases import CASES, SLOW
from .rawhttp import exchange


def judge(case, outcome, allowed, at_ecd):
    """None when the outcome is right, else why not."""
    if outcome.first not in allowed and not ("any" in allowed and outcome.statuses):
        return f"expected one of {sorted(allowed)}"
    if case.responses and len(outcome.statuses) != case.responses:
        return f"expected {case.responses} responses, got {len(outcome.statuses)}"
    if case.max_seconds and outcome.elapsed > case.max_seconds:
        return f"took {outcome.elapsed:.1f} s, more than {case.max_seconds} s"
    error_answer = outcome.statuses and outcome.statuses[0] >= 400
    if at_ecd and case.must_close and (error_answer or case.responses or "any" in allowed) and not outcome.closed:
        return "the connection stayed open after the answer"
    return None


def run_case(case, host, port, context, allowed, at_ecd):
    outcome = exchange(host, port, case.pieces, tls_context=context, pause=case.pause,
                       read_timeout=case.read_timeout, stop_when_answered=case.stop_when_answered)
    return outcome, judge(case, outcome, allowed, at_ecd)


def run(stack, report):
    tls = ssl.create_default_context(cafile=stack.cert)
    targets = [("ecd", "127.0.0.1", stack.ports["public"], None), ("nginx", "127.0.0.1", stack.ports["tls"], tls)]
    # The slow cases take ~10 s each: run them side by side, in the background of the fast ones.
    slow_results = []

    def slow(case, where, host, port, context):
        allowed = case.ecd if where == "ecd" else case.nginx
        slow_results.append((case, where, *run_case(case, host, port, context, allowed, where == "ecd")))
    threads = [threading.Thread(target=slow, args=(case, *target)) for case in SLOW for target in targets]
    for thread in threads:
        thread.start()
    for case in CASES:
        for where, host, port, context in targets:
            allowed = case.ecd if where == "ecd" else case.nginx
            outcome, problem = run_case(case, host, port, context, allowed, where == "ecd")
            healthy = stack.client.request("GET", stack.public_url + "/healthz").status == 200
            report.check(f"hostile [{where}] {case.name}: {outcome.first}" + ("" if healthy else ", then /healthz failed"),
                         problem is None and healthy, f"{problem}; {outcome.describe()}" if problem else "ecd stopped answering /healthz")
    for thread in threads:
        thread.join(timeout=60)
    for case, where, outcome, problem in slow_results:
        healthy = stack.client.request("GET", stack.public_url + "/healthz").status == 200
        report.check(f"hostile [{where}] {case.name}: {outcome.first} after {outcome.elapsed:.1f} s",
                     problem is None and healthy, f"{problem}; {outcome.describe()}" if problem else "ecd stopped answering /healthz")
