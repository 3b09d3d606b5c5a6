"""scripts/openapi-check.sh's driver: a simulator and a daemon with a connected service account and
a few active accounts, then schemathesis against docs/openapi.yaml; exits with its status."""
import argparse
import os
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
    parser.add_argument("--max-time", default="300")
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
            "--max-examples", args.max_examples, "--max-time", args.max_time,
            "--workers", "1", "--seed", "1", "--request-timeout", "10",
            "--report", "ndjson", "--report-dir", os.path.join(args.workdir, "report"),
            *args.extra,
        ]
        return subprocess.run(command).returncode
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
