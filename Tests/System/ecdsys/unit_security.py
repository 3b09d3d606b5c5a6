"""The shipped unit's hardening as the README states it: `systemd-analyze security --offline=yes`
scores it at most the exposure the README records, and core dumps are off (a core would hold
every secret)."""
import os
import re
import shutil
import subprocess


def run(stack, report):
    unit = os.path.join(stack.repo, "deploy", "systemd", "ecd.service")
    with open(unit) as f:
        settings = [line.strip() for line in f if not line.lstrip().startswith("#")]
    report.check("deploy/systemd/ecd.service sets LimitCORE=0", "LimitCORE=0" in settings,
                 "no LimitCORE=0 line")
    with open(os.path.join(stack.repo, "README.md")) as f:
        stated = re.search(r"systemd-analyze security --offline=yes[^`]*`[^0-9]{0,80}([0-9]+\.[0-9])", f.read())
    if shutil.which("systemd-analyze") is None:
        report.skip("systemd-security", "systemd-analyze security of deploy/systemd/ecd.service", "systemd-analyze is not installed")
        return
    result = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", unit],
                            capture_output=True, text=True, timeout=60)
    measured = re.search(r"Overall exposure level for ecd\.service: ([0-9.]+)", result.stdout + result.stderr)
    report.check("systemd-analyze security --offline=yes: the unit's exposure is at most the README's figure",
                 measured is not None and stated is not None and float(measured.group(1)) <= float(stated.group(1)),
                 f"measured {measured.group(1) if measured else '?'} ({(result.stdout + result.stderr).strip()[-200:]}), "
                 f"README states {stated.group(1) if stated else 'no figure'}")
