#!/usr/bin/env bash
# HTTP server benchmark: ECDHTTP (Benchmarks/http, release build) against nginx serving the same
# bytes, both on 127.0.0.1, keep-alive, wrk with one thread. Not a test: run it by hand.
#   scripts/bench-http.sh [duration-seconds [repetitions]]   (default 5 s, 3 repetitions)
# Server pinned to CPU 0, wrk to CPU 1 (2-core machine). The servers take turns, each
# configuration `repetitions` times, and the best run by requests/s is reported (with its own
# latencies and CPU time): on a shared VM, other work only ever makes a run slower.
# Prints Markdown tables.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
duration="${1:-5}"
reps="${2:-3}"
work="$(mktemp -d /tmp/bench-http.XXXXXX)"
ours_port=18091
nginx_port=18092
path="/v1/accounts/alice%40example.com/token"
body='{"access_token":"sim_at_0123456789abcdef0123456789abcdef","token_type":"bearer","expires_at":"2026-11-29T12:00:00Z"}'

command -v wrk >/dev/null && command -v nginx >/dev/null || apt-get install -y nginx wrk >/dev/null
ulimit -n "$(ulimit -Hn)"
tick="$(getconf CLK_TCK)"

echo "building release server…" >&2
(cd Benchmarks/http && swift build -c release --scratch-path "$root/.build-bench" --product BenchHTTPServer) >&2
server_bin="$root/.build-bench/release/BenchHTTPServer"

cleanup() {
    [[ -n "${ours_pid:-}" ]] && kill "$ours_pid" 2>/dev/null || true
    [[ -n "${nginx_pid:-}" ]] && kill "$nginx_pid" 2>/dev/null || true
    [[ -n "${idle_pid:-}" ]] && kill "$idle_pid" 2>/dev/null || true
    sleep 0.3
    rm -rf "$work"
}
trap cleanup EXIT

# --- servers -------------------------------------------------------------------------------
(exec taskset -c 0 "$server_bin" "$ours_port" >"$work/ours.log" 2>&1) & ours_pid=$!

mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
worker_cpu_affinity 01;
worker_rlimit_nofile 20000;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 19000; }
http {
    access_log off;
    client_body_temp_path $work/nginx/tmp;
    proxy_temp_path $work/nginx/tmp;
    fastcgi_temp_path $work/nginx/tmp;
    uwsgi_temp_path $work/nginx/tmp;
    scgi_temp_path $work/nginx/tmp;
    keepalive_requests 100000000;
    keepalive_timeout 600s;
    server {
        listen 127.0.0.1:$nginx_port;
        location / { default_type application/json; return 200 '$body'; }
    }
}
CONF
(exec nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -g 'daemon off;') & nginx_pid=$!
sleep 1
kill -0 "$ours_pid" 2>/dev/null || { echo "ECDHTTP bench server did not start:" >&2; cat "$work/ours.log" >&2; exit 1; }
kill -0 "$nginx_pid" 2>/dev/null || { echo "nginx did not start" >&2; exit 1; }
nginx_worker="$(pgrep -P "$nginx_pid" | head -n1)"
curl -sf "http://127.0.0.1:$ours_port$path" >/dev/null
curl -sf "http://127.0.0.1:$nginx_port$path" >/dev/null

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# run NAME PORT PID CONNS -> "req/s p50 p99 cpu_us_per_req"
run() {
    local port="$1" pid="$2" conns="$3"
    local before after out rps requests
    taskset -c 1 wrk -t1 -c"$conns" -d2s "http://127.0.0.1:$port$path" >/dev/null   # warm-up
    before="$(cpu_ticks "$pid")"
    out="$(taskset -c 1 wrk -t1 -c"$conns" -d"${duration}s" --latency "http://127.0.0.1:$port$path")"
    after="$(cpu_ticks "$pid")"
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    requests="$(awk '/requests in/ {print $1}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    cpu="$(awk -v t="$((after - before))" -v n="$requests" -v hz="$tick" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')"
    echo "$rps $p50 $p99 $cpu"
}

echo "| server | wrk connections | requests/s | p50 | p99 | server CPU µs/request |"
echo "|---|---|---|---|---|---|"
for conns in 32 256 1; do
    best_nginx="0"; best_ours="0"
    for _ in $(seq 1 "$reps"); do
        line="$(run "$nginx_port" "$nginx_worker" "$conns")"
        awk -v a="${line%% *}" -v b="${best_nginx%% *}" 'BEGIN {exit !(a > b)}' && best_nginx="$line"
        line="$(run "$ours_port" "$ours_pid" "$conns")"
        awk -v a="${line%% *}" -v b="${best_ours%% *}" 'BEGIN {exit !(a > b)}' && best_ours="$line"
    done
    read -r rps p50 p99 cpu <<<"$best_nginx"
    echo "| nginx 1 worker | $conns | $rps | $p50 | $p99 | $cpu |"
    read -r rps p50 p99 cpu <<<"$best_ours"
    echo "| ECDHTTP | $conns | $rps | $p50 | $p99 | $cpu |"
done

# --- 10,000 idle keep-alive connections -------------------------------------------------------
idle_test() {
    local port="$1" pid="$2" name="$3"
    local ready="$work/idle-$port.ready"
    rm -f "$ready"
    python3 - "$port" "$path" "$ready" <<'PY' & idle_pid=$!
import socket, sys, time, selectors
port, path, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
conns = []
request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
for i in range(10000):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(request)
    conns.append(s)
answered = 0
for s in conns:
    s.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    answered += 1
open(ready, "w").write(str(answered))
time.sleep(3600)
PY
    for _ in $(seq 1 120); do [[ -f "$ready" ]] && break; sleep 0.5; done
    local answered rss out p50 p99 max
    answered="$(cat "$ready" 2>/dev/null || echo 0)"
    rss="$(rss_mb "$pid")"
    out="$(taskset -c 1 wrk -t1 -c1 -d5s --latency "http://127.0.0.1:$port$path")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    max="$(awk '/Latency/ {print $4}' <<<"$out")"
    echo "| $name | $answered | $rss | $p50 | $p99 | $max |"
    kill "$idle_pid" 2>/dev/null || true
    wait "$idle_pid" 2>/dev/null || true
    idle_pid=""
    sleep 1
}
echo
echo "| server (10,000 idle keep-alive connections open) | idle connections answered | RSS MB | wrk -c1 p50 | p99 | max |"
echo "|---|---|---|---|---|---|"
echo "| ECDHTTP idle RSS before: $(rss_mb "$ours_pid") MB | | | | | |"
idle_test "$ours_port" "$ours_pid" "ECDHTTP"
idle_test "$nginx_port" "$nginx_worker" "nginx 1 worker"
