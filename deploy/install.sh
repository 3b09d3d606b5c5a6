#!/usr/bin/env bash
# Installs ecd on a Debian host: binary, systemd unit, configuration and secret files, nginx
# files. Idempotent: running it again upgrades the binary and unit and keeps configuration
# and secrets that already exist.
#
#   sudo deploy/install.sh [--binary PATH] [--hostname ecd.example.com]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
binary=""
hostname="ecd.example.com"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --hostname) hostname=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }

if [ -z "$binary" ]; then
  echo "== building the release binary"
  (cd "$repo" && swift build -c release --product ecd)
  binary="$repo/.build/release/ecd"
fi

echo "== runtime libraries"
apt-get install -y --no-install-recommends libsqlite3-0 libssl3 libcurl4 >/dev/null

echo "== binary -> /usr/local/bin/ecd"
install -m 0755 "$binary" /usr/local/bin/ecd
install -d -m 0755 /usr/local/share/doc/ecd
install -m 0644 "$repo/README.md" /usr/local/share/doc/ecd/README.md

echo "== configuration in /etc/ecd (kept if present)"
install -d -m 0755 /etc/ecd
install -d -m 0700 /etc/ecd/secrets
if [ ! -f /etc/ecd/ecd.json ]; then
  sed "s#https://ecd.example.com#https://$hostname#" "$repo/Config/ecd.example.json" > /etc/ecd/ecd.json
  chmod 0644 /etc/ecd/ecd.json
fi
if [ ! -f /etc/ecd/secrets/api_keys ]; then
  (umask 077; head -c 32 /dev/urandom | base64 | tr -d '=+/' > /etc/ecd/secrets/api_keys)
fi
if [ ! -f /etc/ecd/secrets/encryption_keys ]; then
  (umask 077; printf '[{"id":"k%s","key":"%s"}]\n' "$(date +%Y%m%d)" "$(head -c 32 /dev/urandom | base64)" \
    > /etc/ecd/secrets/encryption_keys)
fi
if [ ! -f /etc/ecd/secrets/cronofy_client_secret ]; then
  (umask 077; echo "REPLACE_WITH_CRONOFY_CLIENT_SECRET" > /etc/ecd/secrets/cronofy_client_secret)
  echo "   edit /etc/ecd/secrets/cronofy_client_secret and cronofy.client_id in /etc/ecd/ecd.json"
fi

echo "== systemd unit"
install -m 0644 "$here/systemd/ecd.service" /etc/systemd/system/ecd.service
if command -v systemd-analyze >/dev/null; then systemd-analyze verify /etc/systemd/system/ecd.service || true; fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

echo "== nginx snippet"
if [ -d /etc/nginx ]; then
  install -d /etc/nginx/snippets
  install -m 0644 "$here/nginx/ecd-locations.conf" /etc/nginx/snippets/ecd-locations.conf
  if [ -f /etc/nginx/conf.d/ecd.conf ] && grep -q '^upstream ecd_public' /etc/nginx/conf.d/ecd.conf; then
    # An ecd.conf from before ecd-http.conf declares the upstream itself: adding ecd-http.conf
    # would declare it twice and nginx would refuse to load.
    echo "   /etc/nginx/conf.d/ecd.conf declares upstream ecd_public: move it to ecd-http.conf" \
         "(see deploy/nginx/ecd-http.conf, which also holds the rate-limit zones the snippet needs)" >&2
  elif [ ! -f /etc/nginx/conf.d/ecd-http.conf ]; then
    install -m 0644 "$here/nginx/ecd-http.conf" /etc/nginx/conf.d/ecd-http.conf
  fi
  if [ ! -f /etc/nginx/conf.d/ecd.conf ]; then
    sed "s/ecd.example.com/$hostname/g" "$here/nginx/ecd.conf" > /etc/nginx/conf.d/ecd.conf
  fi
  if command -v nginx >/dev/null; then nginx -t || true; fi
fi

echo "done. Next: set the client id and secret, a TLS certificate for $hostname, then"
echo "  ecd check-config --config /etc/ecd/ecd.json && systemctl enable --now ecd && systemctl reload nginx"
