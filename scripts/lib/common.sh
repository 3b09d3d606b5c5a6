# Shared by scripts/system-test.sh and scripts/browser-test.sh: building the release binary once,
# checking tools, and the temp-dir/process cleanup both scripts need. Source it; do not run it.

# Prints the path of an up-to-date release binary of ecd, building it only when a source file is
# newer than the binary. ECD_BINARY skips the build; ECD_BUILD_SCRATCH picks the scratch folder
# (default .build, the one scripts/test.sh uses).
ecd_release_binary() {
  if [ -n "${ECD_BINARY:-}" ]; then
    [ -x "$ECD_BINARY" ] || { echo "ECD_BINARY=$ECD_BINARY is not executable" >&2; return 1; }
    echo "$ECD_BINARY"; return 0
  fi
  local scratch="${ECD_BUILD_SCRATCH:-.build}"
  local binary="$scratch/release/ecd"
  if [ -x "$binary" ] && [ -z "$(find Sources Package.swift -newer "$binary" -print -quit)" ]; then
    echo "$PWD/$binary"; return 0
  fi
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/ecd-build.XXXXXX")
  if ! timeout 1500 swift build -c release --product ecd --scratch-path "$scratch" >"$log" 2>&1; then
    echo "release build failed:" >&2
    grep -E 'error:' "$log" | head -n 40 >&2 || tail -n 40 "$log" >&2
    rm -f "$log"; return 1
  fi
  rm -f "$log"
  echo "$PWD/$binary"
}

# Fails with one line naming every missing tool.
require_tools() {
  local missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "missing tools: ${missing[*]} (.ci/run installs them)" >&2; return 1
  fi
}

# Kills what a driver left behind: the driver itself, then every process whose working directory
# lies inside WORKDIR (the drivers start every process there, so nginx workers and chromium's
# helpers are found too), each by its own id. Removes WORKDIR unless the run failed or
# ECD_SYSTEST_KEEP=1, in which case its path is printed for the logs inside.
cleanup_run() {
  local driver_pid=$1 workdir=$2 status=$3
  if [ -n "$driver_pid" ] && kill -0 "$driver_pid" 2>/dev/null; then
    kill -TERM "$driver_pid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$driver_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$driver_pid" 2>/dev/null || true
  fi
  local proc cwd
  for proc in /proc/[0-9]*; do
    cwd=$(readlink "$proc/cwd" 2>/dev/null) || continue
    case "$cwd" in
      "$workdir"|"$workdir"/*) kill -KILL "${proc#/proc/}" 2>/dev/null || true ;;
    esac
  done
  if [ "$status" != 0 ] || [ "${ECD_SYSTEST_KEEP:-0}" = 1 ]; then
    echo "logs and state kept in $workdir" >&2
  else
    rm -rf "$workdir"
  fi
}
