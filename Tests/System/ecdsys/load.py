"""A short keep-alive load through nginx to ecd (nginx's upstream pool reuses ecd's connections
hard): every answer must be a 200 and no socket may fail. Figures are printed, not judged; the
benchmarks live in docs/benchmarks.md."""
import re
import shutil
import subprocess


def wrk(url, connections=64, seconds=3):
    result = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url],
                            capture_output=True, text=True, timeout=seconds + 30)
    out = result.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "ok": result.returncode == 0,
        "rate": float(rate.group(1)) if rate else 0.0,
        "requests": int(total.group(1)) if total else 0,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": tuple(int(n) for n in errors.groups()) if errors else (0, 0, 0, 0),
        "raw": (out + result.stderr).strip().replace("\n", " | ")[:400],
    }


def run(stack, report):
    if shutil.which("wrk") is None:
        report.skip("wrk", "keep-alive load through nginx", "wrk is not installed")
        return
    for label, url in (("nginx TLS", stack.tls_url + "/healthz"), ("nginx plain", stack.plain_url + "/healthz"),
                       ("ecd public listener", stack.public_url + "/healthz")):
        figures = wrk(url)
        report.check(f"wrk -t1 -c64 3 s at {label} /healthz: {figures['requests']} requests ({figures['rate']:.0f}/s), "
                     "all 200, no socket errors",
                     figures["ok"] and figures["requests"] > 0 and figures["non2xx"] == 0 and sum(figures["errors"]) == 0,
                     figures["raw"])
    health = stack.client.request("GET", stack.public_url + "/healthz")
    report.check("ecd answers /healthz after the load", health.status == 200, health.describe())
