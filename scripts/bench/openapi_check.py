"""scripts/openapi-check.sh's driver: a simulator and a daemon with a connected service account and
a few active accounts, then schemathesis against docs/openapi.yaml; prints schemathesis' output,
then `N passed, N failed` (its test cases) and exits non-zero on any finding."""
import argparse
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ecdstack import Stack  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ecd", required=True)
    parser.add_argument("--schemathesis", required=True)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--max-examples", default="25")
    parser.add_argument("--max-time", default=None, help="seconds; without it the fuzzing phase stops after --max-examples")
    parser.add_argument("extra", nargs="*", help="more schemathesis arguments")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack = Stack(args.ecd, args.workdir, token_lifetime=3600, log_level="info")
    try:
        stack.start_simulator()
        stack.start_daemon(os.path.join(args.workdir, "ecd.sqlite"))
        service_account = stack.connect_service_account()
        # alice is the example of docs/openapi.yaml's {email}, so the examples phase reaches a real account.
        emails = [f"{name}@example.com" for name in ("alice", "bob", "carol", "dave", "erin")]
        stack.request_accounts(emails)
        stack.wait_active(len(emails), timeout=60)
        print(f"daemon ready on {stack.internal_url}: service account {service_account}, "
              f"{len(emails)} active accounts", flush=True)
        command = [
            args.schemathesis, "--config-file", os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemathesis.toml"),
            "run", args.spec, "--url", stack.internal_url,
            "-H", f"Authorization: Bearer {stack.api_key}",
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", args.max_examples, *(["--max-time", args.max_time] if args.max_time else []),
            "--workers", "1", "--seed", "1", "--request-timeout", "10",
            "--report", "ndjson", "--report-dir", os.path.join(args.workdir, "report"),
            *args.extra,
        ]
        run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output = []
        for line in run.stdout:
            print(line, end="", flush=True)
            output.append(line)
        status = run.wait()
        passed, failed = test_case_counts("".join(output))
        if status != 0:
            failed = max(failed, 1)  # a finding, or schemathesis could not run: never a green count
        print(f"{passed} passed, {failed} failed", flush=True)
        return status
    finally:
        stack.stop()


def test_case_counts(output):
    """(passed, failed) from schemathesis' summary: `Test cases:` then e.g. `1351 generated,
    1351 passed, 30 skipped` (or `... N failed` / `N unique failures`)."""
    summary = output.rsplit("Test cases:", 1)[-1] if "Test cases:" in output else ""
    line = next((text for text in summary.splitlines() if text.strip()), "")
    passed = re.search(r"(\d+) passed", line)
    failed = re.search(r"(\d+) (?:failed|unique failures?)", line)
    return (int(passed.group(1)) if passed else 0), (int(failed.group(1)) if failed else 0)


if __name__ == "__main__":
    sys.exit(main())
