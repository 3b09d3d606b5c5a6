"""One PASS/FAIL line per check and a closing `N passed, N failed` line, nothing else on success."""
import sys
import traceback


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        """Records one check; `detail` explains a failure (request and response, expected vs got)."""
        if ok:
            self.passed += 1
            print(f"PASS {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    def skip(self, name, why):
        print(f"SKIP {name}: {why}", flush=True)

    def crashed(self, stage, error):
        """A stage that raised: one failure naming the stage, the traceback on stderr."""
        self.check(f"{stage} ran to the end", False, f"{type(error).__name__}: {error}")
        traceback.print_exc(file=sys.stderr)

    def summary(self):
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 0 if self.failed == 0 else 1
