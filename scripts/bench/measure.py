"""wrk runs with the server's CPU time, process memory, and nginx as the reference server."""
import os
import re
import subprocess
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of the whole process (every thread), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def memory_mb(pid):
    """VmRSS split into RssAnon (the process's own memory) and RssFile (mapped files: the binary
    and shared libraries such as Foundation and ICU's data, shared with every process using them)."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                values[name] = int(rest.split()[0]) / 1024
    return values


def _milliseconds(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


class Run:
    """One wrk run: requests/s, p50/p99 in ms, server CPU µs per request, errors, peak RSS (MB)."""

    def __init__(self, output, cpu, peak_rss):
        self.output = output
        self.rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
        self.requests = int(re.search(r"(\d+) requests in", output).group(1))
        self.p50 = _milliseconds(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
        self.p99 = _milliseconds(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
        self.cpu_us = cpu / max(self.requests, 1) * 1e6
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
        self.errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
        self.peak_rss = peak_rss


def wrk(url, pid, connections, seconds, script, env, wrk_cpus="1", warmup=2):
    """Warm-up, then a measured run; the server's CPU time and its peak VmRSS are sampled around it."""
    base = ["taskset", "-c", wrk_cpus, "wrk", "-t1", f"-c{connections}", "-s", script, "--latency"]
    full_env = dict(os.environ, **env)
    if warmup:
        subprocess.run(base + [f"-d{warmup}s", url], env=full_env, capture_output=True, check=True)
    peak = [rss_mb(pid)]
    done = threading.Event()

    def sample():
        while not done.wait(0.5):
            peak[0] = max(peak[0], rss_mb(pid))
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    before = cpu_seconds(pid)
    result = subprocess.run(base + [f"-d{seconds}s", url], env=full_env, capture_output=True, text=True, check=True)
    after = cpu_seconds(pid)
    done.set()
    sampler.join()
    return Run(result.stdout, after - before, peak[0])


class Nginx:
    """nginx serving `body` to every GET, one worker pinned like the daemon, `daemon off` so it is
    our child, no access log (the daemon runs at log level warning, which skips its access log)."""

    def __init__(self, workdir, port, body, cpus="0"):
        self.prefix = os.path.join(workdir, "nginx")
        os.makedirs(os.path.join(self.prefix, "logs"), exist_ok=True)
        os.makedirs(os.path.join(self.prefix, "tmp"), exist_ok=True)
        self.port = port
        mask = format(1 << int(cpus), "b")
        conf = os.path.join(self.prefix, "nginx.conf")
        temp = os.path.join(self.prefix, "tmp")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
worker_cpu_affinity {mask};
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {temp}; proxy_temp_path {temp}; fastcgi_temp_path {temp};
    uwsgi_temp_path {temp}; scgi_temp_path {temp};
    keepalive_requests 100000000;
    keepalive_timeout 600s;
    server {{
        listen 127.0.0.1:{port};
        location / {{ default_type application/json; add_header Cache-Control no-store; return 200 '{body}'; }}
    }}
}}
""")
        self.master = subprocess.Popen(["nginx", "-c", conf, "-p", self.prefix, "-g", "daemon off;"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        self.worker = None
        while time.monotonic() < deadline and self.worker is None:
            time.sleep(0.1)
            children = subprocess.run(["pgrep", "-P", str(self.master.pid)], capture_output=True, text=True).stdout.split()
            self.worker = int(children[0]) if children else None
        if self.worker is None:
            self.stop()
            raise RuntimeError("nginx did not start a worker")

    def stop(self):
        if self.master.poll() is None:
            self.master.terminate()
            try:
                self.master.wait(10)
            except subprocess.TimeoutExpired:
                self.master.kill()
                self.master.wait()
