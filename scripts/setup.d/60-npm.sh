#!/usr/bin/env bash
# npm dependencies from package-lock.json. mediasoup's postinstall would download or build a worker:
# MEDIASOUP_WORKER_BIN points it at the one built by 50-mediasoup.sh instead.
source "$(dirname "$0")/../lib.sh"
cd "$HARNESS_ROOT"
export MEDIASOUP_WORKER_BIN="$SCH_CACHE/mediasoup/$MEDIASOUP_VERSION/mediasoup-worker"
key="$(sha256sum package-lock.json | cut -c1-64)"
if [ -f node_modules/.sch-lock-hash ] && [ "$(cat node_modules/.sch-lock-hash)" = "$key" ]; then
  log "npm: node_modules matches package-lock.json"
  exit 0
fi
npmlog="$SCH_CACHE/npm.log"
# `npm install`, not `npm ci`: with this machine's omit-lockfile-registry-resolved, npm 11's ci rejects
# its own lock file (platform-optional packages). Versions still come from package-lock.json.
if ! npm install --no-audit --no-fund >"$npmlog" 2>&1; then
  fail npm "$(grep -v 'Unknown user config' "$npmlog" | tail -n 8)" "scripts/setup --only npm"
fi
printf '%s' "$key" > node_modules/.sch-lock-hash
