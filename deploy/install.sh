#!/usr/bin/env bash
# Installs ecd on a Debian host: binary, systemd unit, configuration and secret files, nginx
# files. Idempotent: running it again upgrades the binary and unit and keeps configuration
# and secrets that already exist.
#
#   sudo deploy/install.sh [--binary PATH] [--hostname ecd.example.com] [--root DIR]
#
# --root DIR installs every file under DIR instead of / (DIR/usr/local/bin/ecd, DIR/etc/ecd, ...)
# and leaves the running system alone: no apt-get, no systemctl, no root needed. The system test
# uses it to verify the unit as installed without touching the machine.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
binary=""
hostname="ecd.example.com"
root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --hostname) hostname=$2; shift 2 ;;
    --root) root=$(cd "$2" && pwd) || { echo "install.sh: --root $2 is not a folder" >&2; exit 2; }; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$root" ] && [ "$(id -u)" != 0 ]; then echo "install.sh: run as root (or install under --root DIR)" >&2; exit 1; fi

if [ -z "$binary" ]; then
  echo "== building the release binary"
  (cd "$repo" && swift build -c release --product ecd)
  binary="$repo/.build/release/ecd"
fi

if [ -z "$root" ]; then
  echo "== runtime libraries"
  apt-get install -y --no-install-recommends libsqlite3-0 libssl3 libcurl4 libpq5 >/dev/null
fi

echo "== binary -> $root/usr/local/bin/ecd"
install -d -m 0755 "$root/usr/local/bin" "$root/usr/local/share/doc/ecd"
install -m 0755 "$binary" "$root/usr/local/bin/ecd"
install -m 0644 "$repo/README.md" "$root/usr/local/share/doc/ecd/README.md"

etc="$root/etc/ecd"
echo "== configuration in $etc (kept if present)"
install -d -m 0755 "$etc"
install -d -m 0700 "$etc/secrets"
if [ ! -f "$etc/ecd.json" ]; then
  sed "s#https://ecd.example.com#https://$hostname#" "$repo/Config/ecd.example.json" > "$etc/ecd.json"
  chmod 0644 "$etc/ecd.json"
fi
if [ ! -f "$etc/secrets/api_keys" ]; then
  (umask 077; head -c 32 /dev/urandom | base64 | tr -d '=+/' > "$etc/secrets/api_keys")
fi
if [ ! -f "$etc/secrets/encryption_keys" ]; then
  (umask 077; printf '[{"id":"k%s","key":"%s"}]\n' "$(date +%Y%m%d)" "$(head -c 32 /dev/urandom | base64)" \
    > "$etc/secrets/encryption_keys")
fi
if [ ! -f "$etc/secrets/cronofy_client_secret" ]; then
  (umask 077; echo "REPLACE_WITH_CRONOFY_CLIENT_SECRET" > "$etc/secrets/cronofy_client_secret")
  echo "   edit $etc/secrets/cronofy_client_secret and cronofy.client_id in $etc/ecd.json"
fi

echo "== systemd unit"
install -d -m 0755 "$root/etc/systemd/system"
install -m 0644 "$here/systemd/ecd.service" "$root/etc/systemd/system/ecd.service"
if [ -z "$root" ]; then
  if command -v systemd-analyze >/dev/null; then systemd-analyze verify /etc/systemd/system/ecd.service || true; fi
  if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
fi

echo "== nginx snippet"
if [ -n "$root" ] || [ -d /etc/nginx ]; then
  conf="$root/etc/nginx/conf.d"
  install -d "$root/etc/nginx/snippets" "$conf"
  install -m 0644 "$here/nginx/ecd-locations.conf" "$root/etc/nginx/snippets/ecd-locations.conf"
  if [ -f "$conf/ecd.conf" ] && grep -q '^upstream ecd_public' "$conf/ecd.conf"; then
    # An ecd.conf from before ecd-http.conf declares the upstream itself: adding ecd-http.conf
    # would declare it twice and nginx would refuse to load.
    echo "   $conf/ecd.conf declares upstream ecd_public: move it to ecd-http.conf" \
         "(see deploy/nginx/ecd-http.conf, which also holds the rate-limit zones the snippet needs)" >&2
  elif [ ! -f "$conf/ecd-http.conf" ]; then
    install -m 0644 "$here/nginx/ecd-http.conf" "$conf/ecd-http.conf"
  fi
  if [ ! -f "$conf/ecd.conf" ]; then
    sed "s/ecd.example.com/$hostname/g" "$here/nginx/ecd.conf" > "$conf/ecd.conf"
  fi
  if [ -z "$root" ] && command -v nginx >/dev/null; then nginx -t || true; fi
fi

echo "done. Next: set the client id and secret, a TLS certificate for $hostname, then"
echo "  ecd check-config --config /etc/ecd/ecd.json && systemctl enable --now ecd && systemctl reload nginx"
