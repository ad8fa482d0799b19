#!/usr/bin/env bash
# Debian packages: the servers the lab runs and the worker's build dependencies.
# Debian bookworm's versions are fixed per release (security updates aside); the lab records them.
source "$(dirname "$0")/../lib.sh"

packages=(
  redis-server postgresql coturn chromium nftables iproute2 procps util-linux patch curl git
  # the public entry (nginx) and the lab's per-lab TLS certificate (openssl)
  nginx openssl
  # mediasoup worker build (scripts/setup.d/50-mediasoup.sh)
  meson ninja-build pkg-config g++ python3 libuv1-dev libssl-dev libsrtp2-dev libusrsctp-dev libabsl-dev
  libflatbuffers-dev flatbuffers-compiler nlohmann-json3-dev
  # Cassandra and the Go tools
  openjdk-17-jre-headless maven
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  log "apt: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  fail apt "missing Debian packages: ${missing[*]} (installing them needs root)" "sudo apt-get install -y ${missing[*]} && scripts/setup"
fi
log "apt: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
aptlog="$SCH_CACHE/apt.log"
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$aptlog" 2>&1; then
  fail apt "$(tail -n 5 "$aptlog")" "scripts/setup --only apt"
fi
# The packaged services must not run on the host: the lab starts its own instances.
for svc in redis-server postgresql coturn nginx; do
  systemctl disable --now "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1 || true
done
