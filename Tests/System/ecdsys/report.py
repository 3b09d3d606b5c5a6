"""One PASS/FAIL line per check and a closing `N passed, N failed` line, nothing else on success.

A check that cannot run here is not a pass: `skip` counts as a failure unless its key is listed in
the environment variable ECD_TEST_ALLOW_SKIP (comma- or space-separated keys, e.g.
`ECD_TEST_ALLOW_SKIP=seccomp,wrk`), which a developer sets on a machine that lacks a tool. CI sets
none, so everything the README promises is checked there."""
import os
import re
import sys
import traceback

# Keys `skip` accepts; each names one check that needs something a machine may lack.
SKIPPABLE = {
    "seccomp": "the unit's SystemCallFilter against ecd under strace (needs strace that can trace, systemd-analyze)",
    "systemd-verify": "systemd-analyze verify of deploy/systemd/ecd.service (needs systemd-analyze)",
    "systemd-security": "systemd-analyze security of deploy/systemd/ecd.service (needs systemd-analyze)",
    "wrk": "the keep-alive load through nginx (needs wrk)",
}


def allowed_skips(environ=None):
    text = (environ if environ is not None else os.environ).get("ECD_TEST_ALLOW_SKIP", "")
    return {key for key in re.split(r"[,\s]+", text) if key}


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.allowed = allowed_skips()

    def check(self, name, ok, detail=""):
        """Records one check; `detail` explains a failure (request and response, expected vs got)."""
        if ok:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    def skip(self, key, name, why):
        """A check that could not run: a failure unless `key` is in ECD_TEST_ALLOW_SKIP."""
        if key not in SKIPPABLE:
            raise ValueError(f"unknown skip key {key!r}; add it to report.SKIPPABLE")
        if key in self.allowed:
            self.skipped += 1
            print(f"SKIP {name}: {why} (allowed by ECD_TEST_ALLOW_SKIP={key})", flush=True)
        else:
            self.check(name, False, f"could not run: {why}; set ECD_TEST_ALLOW_SKIP={key} to accept that on this machine")

    def crashed(self, stage, error):
        """A stage that raised: one failure naming the stage, the traceback on stderr."""
        self.check(f"{stage} ran to the end", False, f"{type(error).__name__}: {error}")
        traceback.print_exc(file=sys.stderr)

    def summary(self):
        if self.skipped:
            print(f"{self.skipped} skipped (allowed by ECD_TEST_ALLOW_SKIP)", flush=True)
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 0 if self.failed == 0 else 1
