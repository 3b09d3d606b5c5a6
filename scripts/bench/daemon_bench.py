"""The daemon benchmark (scripts/bench-daemon.sh runs it): token lookups against nginx (with a perf
profile of the token route), start to ready with 100,000 accounts, lookups at 1,000 vs 100,000
accounts, resident memory, durable callbacks per second and `POST /v1/accounts` latency. Prints
Markdown; raw wrk outputs and logs stay in the work folder when --keep is given."""
import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ecdstack import Stack, free_port, request  # noqa: E402
from measure import Nginx, memory_mb, rss_mb, wrk  # noqa: E402
import callback_bench  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "token.lua")


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def copy_database(source, target):
    """A consistent copy through SQLite's backup API (the WAL included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    os.chmod(target, 0o600)


def shrink(database, keep):
    with sqlite3.connect(database) as db:
        db.execute("DELETE FROM accounts WHERE id NOT IN "
                   "(SELECT id FROM accounts WHERE status = 'active' ORDER BY id LIMIT ?)", (keep,))
    with sqlite3.connect(database) as db:
        db.execute("VACUUM")


def emails_file(database, path):
    with sqlite3.connect(database) as db:
        emails = [row[0] for row in db.execute("SELECT email FROM accounts WHERE status = 'active'")]
    with open(path, "w") as f:
        f.write("\n".join(emails) + "\n")
    return len(emails)


def fmt(run):
    return f"{run.rps:,.0f} | {run.p50:.3f} | {run.p99:.3f} | {run.cpu_us:.1f}"


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = args.workdir
        self.stack = Stack(args.ecd, self.work, token_lifetime=86400, daemon_cpus=args.server_cpu)
        self.db10k = os.path.join(self.work, "ecd-10k.sqlite")
        self.lines = []

    def load(self, when):
        """The machine's load average, printed beside each stage: the ratios to nginx are only
        comparable between runs under similar load."""
        with open("/proc/loadavg") as f:
            self.out(f"\nLoad average {when}: {' '.join(f.read().split()[:3])} (1, 5, 15 min) on {os.cpu_count()} CPUs.")

    def out(self, line=""):
        self.lines.append(line)
        print(line, flush=True)

    def best_of(self, url, pid, conns, emails, reps):
        runs = [wrk(url, pid, conns, self.args.duration, LUA,
                    {"BENCH_EMAILS": emails, "BENCH_API_KEY": self.stack.api_key}, self.args.wrk_cpu)
                for _ in range(reps)]
        return max(runs, key=lambda r: r.rps), runs

    def seed(self):
        total = self.args.accounts
        self.stack.start_simulator()
        self.stack.start_daemon(self.db10k)
        service_account = self.stack.connect_service_account()
        log(f"service account {service_account} connected; requesting {total} accounts")
        started = time.monotonic()
        emails = [f"user{n:05d}@example.com" for n in range(1, total + 1)]
        self.stack.request_accounts(emails)
        self.stack.wait_active(total, timeout=600)
        seconds = time.monotonic() - started
        log(f"{total} accounts active in {seconds:.1f} s")
        self.out(f"Seeding through the daemon: {total:,} accounts requested (POST /v1/accounts, 1,000 a request) "
                 f"and active in {seconds:.1f} s ({total / seconds:,.0f} callbacks exchanged per second).")
        self.stack.stop_daemon()

    def token_vs_nginx(self):
        self.load("before the token runs")
        ready = self.stack.start_daemon(self.db10k)
        pid = self.stack.daemon.pid
        time.sleep(1)
        idle = rss_mb(pid)
        memory = memory_mb(pid)
        emails = os.path.join(self.work, "emails-10k.txt")
        count = emails_file(self.db10k, emails)
        url = self.stack.internal_url
        sample = self.stack.api("GET", "/v1/accounts/user00001%40example.com/token")
        assert sample.status == 200, sample.status
        body = sample.body.decode()
        nginx = Nginx(self.work, free_port(), body, cpus=self.args.server_cpu)
        check = request(f"http://127.0.0.1:{nginx.port}/x")
        assert check.status == 200 and len(check.body) == len(sample.body)
        time.sleep(1)
        nginx_idle = {"master": memory_mb(nginx.master.pid), "worker": memory_mb(nginx.worker)}
        self.out(f"\nToken body {len(sample.body)} bytes from both servers; {count:,} active accounts; "
                 f"start to ready {ready * 1000:.0f} ms; idle RSS {idle:.1f} MB.\n")
        self.out("| wrk -t1 | server | requests/s | p50 ms | p99 ms | server CPU µs/req | errors | RSS MB (peak) |")
        self.out("|---|---|---:|---:|---:|---:|---:|---:|")
        ratios = []
        try:
            for conns in (32, 256, 1):
                best = {}
                for rep in range(self.args.reps):
                    for name, target, server_pid in (("nginx", f"http://127.0.0.1:{nginx.port}", nginx.worker),
                                                     ("ecd", url, pid)):
                        run = wrk(target, server_pid, conns, self.args.duration, LUA,
                                  {"BENCH_EMAILS": emails, "BENCH_API_KEY": self.stack.api_key}, self.args.wrk_cpu)
                        log(f"-c{conns} {name} run {rep + 1}: {run.rps:,.0f} req/s p99 {run.p99:.3f} ms "
                            f"cpu {run.cpu_us:.1f} µs errors {run.errors}")
                        if name not in best or run.rps > best[name].rps:
                            best[name] = run
                for name in ("nginx", "ecd"):
                    run = best[name]
                    rss = f"{run.peak_rss:.1f}" if name == "ecd" else "-"
                    self.out(f"| -c{conns} | {name} | {fmt(run)} | {run.errors} | {rss} |")
                ratios.append((conns, best["ecd"], best["nginx"]))
            nginx_after = {"master": memory_mb(nginx.master.pid), "worker": memory_mb(nginx.worker)}
        finally:
            nginx.stop()
        self.load("after the token runs")
        self.profile(pid, emails, "10,000 accounts, the token route")
        time.sleep(1)
        after = rss_mb(pid)
        memory_after = memory_mb(pid)
        self.stack.stop_daemon()
        self.out(f"\necd idle memory after start: VmRSS {memory['VmRSS']:.1f} MB = RssAnon {memory['RssAnon']:.1f} MB "
                 f"(own heap and stacks) + RssFile {memory['RssFile']:.1f} MB (binary and shared libraries) "
                 f"+ RssShmem {memory.get('RssShmem', 0):.1f} MB.")
        self.out("\n| connections | ecd/nginx requests/s | ecd/nginx p50 | ecd/nginx p99 | ecd/nginx CPU per request |")
        self.out("|---|---:|---:|---:|---:|")
        for conns, ours, theirs in ratios:
            self.out(f"| {conns} | {ours.rps / theirs.rps:.2f} | {ours.p50 / theirs.p50:.2f} | "
                     f"{ours.p99 / theirs.p99:.2f} | {ours.cpu_us / theirs.cpu_us:.2f} |")
        self.out(f"\necd RSS: idle {idle:.1f} MB after start, {after:.1f} MB after the runs.")
        self.out("\nIdle memory, MB (`/proc/PID/status`; nginx: its master and its one worker, same run):\n")
        self.out("| process | when | VmRSS | RssAnon | RssFile |")
        self.out("|---|---|---:|---:|---:|")
        rows = [("ecd", "after start", memory), ("ecd", "after the runs, idle 1 s", memory_after)]
        for when, values in (("after start", nginx_idle), ("after the runs", nginx_after)):
            for role in ("master", "worker"):
                rows.append((f"nginx {role}", when, values[role]))
        for name, when, values in rows:
            self.out(f"| {name} | {when} | {values['VmRSS']:.1f} | {values['RssAnon']:.1f} | {values['RssFile']:.1f} |")

    def access_log(self):
        """The token route at -c32 with every token read logged (`log.level` debug, JSON lines
        to a file) against the token runs' level warning, which writes none."""
        emails = os.path.join(self.work, "emails-10k.txt")
        self.stack.log_level = "debug"
        try:
            self.stack.start_daemon(self.db10k)
            pid = self.stack.daemon.pid
            best, _ = self.best_of(self.stack.internal_url, pid, 32, emails, self.args.reps)
            metrics = self.stack.api("GET", "/metrics").body.decode()
            dropped = next((line.split()[-1] for line in metrics.splitlines()
                            if line.startswith("ecd_log_lines_dropped_total ")), "?")
            self.stack.stop_daemon()
        finally:
            self.stack.log_level = "warning"
        log(f"-c32 with the access log on: {best.rps:,.0f} req/s cpu {best.cpu_us:.1f} µs")
        self.out(f"\nAccess log on (`log.level` debug: a JSON line per token read, to a file), -c32 best of "
                 f"{self.args.reps}: {fmt(best)} (req/s, p50, p99, CPU µs/req); lines dropped: {dropped}.")

    def scale(self):
        """Start to ready and c32 lookups at 1,000 vs 100,000 stored accounts."""
        db1k = os.path.join(self.work, "ecd-1k.sqlite")
        db100k = os.path.join(self.work, "ecd-100k.sqlite")
        copy_database(self.db10k, db1k)
        shrink(db1k, 1000)
        copy_database(self.db10k, db100k)
        started = time.monotonic()
        subprocess.run([self.args.seed, "--database", db100k, "--keys-file", self.stack.keys_file,
                        "--total", "100000"], check=True)
        log(f"seeded 100,000 accounts in {time.monotonic() - started:.1f} s")
        self.out("\n| accounts stored | start to ready ms (each start) | idle RSS MB | -c32 requests/s (best) | "
                 "p50 ms | p99 ms | CPU µs/req | errors | RSS MB (peak) |")
        self.out("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        results = {}
        for label, database in (("1,000", db1k), ("100,000", db100k)):
            emails = os.path.join(self.work, f"emails-{label.replace(',', '')}.txt")
            count = emails_file(database, emails)
            readies = []
            for _ in range(self.args.starts):
                readies.append(self.stack.start_daemon(database) * 1000)
                self.stack.stop_daemon()
            readies.append(self.stack.start_daemon(database) * 1000)
            pid = self.stack.daemon.pid
            time.sleep(1)
            idle = rss_mb(pid)
            best, runs = self.best_of(self.stack.internal_url, pid, 32, emails, self.args.reps)
            for n, run in enumerate(runs):
                log(f"{count} accounts -c32 run {n + 1}: {run.rps:,.0f} req/s p99 {run.p99:.3f} ms cpu {run.cpu_us:.1f} µs")
            if self.args.perf and label == "100,000":
                self.profile(pid, emails, "100,000 accounts")
            self.stack.stop_daemon()
            results[label] = best
            starts = ", ".join(f"{r:.0f}" for r in readies)
            self.out(f"| {count:,} | {starts} | {idle:.1f} | {fmt(best)} | {best.errors} | {best.peak_rss:.1f} |")
        ratio = results["100,000"].rps / results["1,000"].rps
        self.out("\n| flatness, token route -c32 | 1,000 accounts req/s | 100,000 accounts req/s | ratio (target ≥ 0.9) |")
        self.out("|---|---:|---:|---:|")
        self.out(f"| best of {self.args.reps} | {results['1,000'].rps:,.0f} | {results['100,000'].rps:,.0f} | **{ratio:.2f}** |")

    def profile(self, pid, emails, what):
        """`perf record -g` of an 8 s -c32 run; the top symbols by self time, then by inclusive
        time (a symbol and everything it calls)."""
        if shutil.which("perf") is None:
            self.out(f"\nperf, {what}: not run (no `perf`; apt-get install linux-perf).")
            return
        data = os.path.join(self.work, "perf.data")
        perf = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-p", str(pid), "-o", data],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run = wrk(self.stack.internal_url, pid, 32, 8, LUA,
                  {"BENCH_EMAILS": emails, "BENCH_API_KEY": self.stack.api_key}, self.args.wrk_cpu, warmup=0)
        perf.send_signal(2)
        perf.wait()
        self.out(f"\nperf, {what}, -c32 ({run.rps:,.0f} req/s, {run.cpu_us:.1f} µs CPU/req under perf):")
        for title, mode in (("self time", "--no-children"), ("inclusive time (children included), ecd's own symbols", "--children")):
            report = subprocess.run(["perf", "report", "-i", data, mode, "--sort", "symbol",
                                     "--stdio", "-g", "none", "--percent-limit", "1.5"],
                                    capture_output=True, text=True)
            lines = [line.rstrip(" -") for line in report.stdout.splitlines()
                     if line.strip() and not line.startswith("#")]
            if mode == "--children":
                # ecd's own frames (threads and the event loop's outer frames aside) say where
                # the request's time goes; the kernel's share is in the self-time list.
                lines = [line for line in lines if "[.]" in line and ("ECD" in line or "ecd" in line)]
            top = lines[:30]
            if shutil.which("swift"):
                # Swift's mangled names, made readable (and shorter) when a toolchain is at hand.
                demangled = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(top),
                                           capture_output=True, text=True)
                if demangled.returncode == 0:
                    top = [line[:160] for line in demangled.stdout.splitlines()]
            self.out(f"\n{title}, symbols ≥ 1.5 %:\n\n```\n" + "\n".join(top) + "\n```")

    def callbacks(self):
        result = callback_bench.run(self.args.ecd, os.path.join(self.work, "callbacks"), self.args.server_cpu, log=log)
        ms = ", ".join(f"{v:.0f}" for v in result["post_ms"])
        self.out(f"\n`POST /v1/accounts` with {result['batch']:,} new emails: answered 202 in {ms} ms "
                 f"(p50 {result['post_p50']:.0f} ms, max {result['post_max']:.0f} ms).")
        self.out(f"\nDurable callbacks through the public listener: {result['callbacks']:,} signed callbacks from "
                 f"{result['connections']} keep-alive connections in {result['seconds']:.2f} s = "
                 f"**{result['per_second']:,.0f} callbacks/s**, {result['ok']:,} answered 200 "
                 f"(statuses {result['statuses']}); {result['failed_after']:,} accounts settled from them.")

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ecd", required=True)
    parser.add_argument("--seed", required=True, help="the BenchSeed executable")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--accounts", type=int, default=10000)
    parser.add_argument("--duration", type=int, default=12)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--starts", type=int, default=3, help="extra start-to-ready measurements")
    parser.add_argument("--server-cpu", default="0")
    parser.add_argument("--wrk-cpu", default="1")
    parser.add_argument("--perf", action="store_true")
    parser.add_argument("--no-scale", action="store_true", help="skip the 1,000 vs 100,000 accounts stage")
    args = parser.parse_args()
    # `timeout` ends the run with SIGTERM: leave through `finally`, so no child outlives it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(args)
    try:
        bench.seed()
        bench.token_vs_nginx()
        bench.access_log()
        bench.callbacks()
        if not args.no_scale:
            bench.scale()
    finally:
        bench.stack.stop()
    with open(os.path.join(args.workdir, "report.md"), "w") as f:
        f.write("\n".join(bench.lines) + "\n")


if __name__ == "__main__":
    main()
