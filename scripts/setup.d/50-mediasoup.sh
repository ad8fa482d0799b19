#!/usr/bin/env bash
# Step "mediasoup": build mediasoup-worker offline.
# The npm package would download a prebuilt worker from GitHub or build one with meson
# subprojects that download their sources; neither is reachable here. So: take the worker
# sources from the npm tarball, patch them to use Debian's system libraries
# (scripts/mediasoup/<version>/*.patch), build with Debian's meson/ninja, and cache the binary at
#   $SCH_CACHE/mediasoup/$MEDIASOUP_VERSION/mediasoup-worker
# Use it with MEDIASOUP_WORKER_BIN=<that path> (npm install and run time).
source "$(dirname "$0")/../lib.sh"

STEP=mediasoup
RETRY="scripts/setup --only mediasoup"
V="$MEDIASOUP_VERSION"
PATCH_DIR="$HARNESS_ROOT/scripts/mediasoup/$V"
DEST="$SCH_CACHE/mediasoup/$V"
BIN="$DEST/mediasoup-worker"
LOG="$DEST/build.log"

shopt -s nullglob
patches=("$PATCH_DIR"/*.patch)
[ ${#patches[@]} -gt 0 ] || fail "$STEP" "no patch files for mediasoup $V in $PATCH_DIR" "$RETRY"

# Rebuild when the version or any patch changes.
key="$V $(cat "${patches[@]}" | sha256sum | cut -d' ' -f1)"
if stamp_ok "$STEP" "$key" && [ -x "$BIN" ]; then
  log "mediasoup-worker $V up to date: $BIN"
  exit 0
fi

for tool in npm meson ninja patch pkg-config flatc c++; do
  command -v "$tool" >/dev/null ||
    fail "$STEP" "missing tool '$tool' (apt-get install meson ninja-build patch pkg-config flatbuffers-compiler g++ libuv1-dev libssl-dev libsrtp2-dev libusrsctp-dev libabsl-dev libflatbuffers-dev)" "$RETRY"
done

mkdir -p "$DEST"
: > "$LOG"
# build_fail CAUSE: fail with the tail of the build log as the cause.
build_fail() { fail "$STEP" "$1: $(tail -n 15 "$LOG")" "$RETRY"; }

tarball="$SCH_CACHE/mediasoup/mediasoup-$V.tgz"
if [ ! -s "$tarball" ]; then
  log "fetching mediasoup@$V from npm"
  (cd "$SCH_CACHE/mediasoup" && npm pack "mediasoup@$V" --silent) >>"$LOG" 2>&1 ||
    build_fail "npm pack mediasoup@$V failed"
fi

# Always patch a pristine extraction: patches are not idempotent.
src="$DEST/src"
build="$DEST/build"
rm -rf "$src" "$build"
mkdir -p "$src"
tar -xzf "$tarball" -C "$src" --strip-components=1 package/worker >>"$LOG" 2>&1 ||
  build_fail "cannot extract worker sources from $tarball"

for p in "${patches[@]}"; do
  log "applying $(basename "$p")"
  patch -p1 --batch --forward -d "$src" <"$p" >>"$LOG" 2>&1 ||
    build_fail "patch $(basename "$p") does not apply to mediasoup $V"
done

log "building mediasoup-worker $V (several minutes on 2 cores; log: $LOG)"
start=$SECONDS
meson setup "$build" "$src/worker" --buildtype release --wrap-mode=nodownload \
  -Dms_disable_liburing=true >>"$LOG" 2>&1 || build_fail "meson setup failed"
# The flatbuffers headers (fbs/FBS) are a custom target nothing declares a dependency on;
# generate them first or the C++ objects race them.
ninja -C "$build" fbs/FBS >>"$LOG" 2>&1 || build_fail "flatc code generation failed"
ninja -C "$build" mediasoup-worker >>"$LOG" 2>&1 || build_fail "ninja mediasoup-worker failed"

install -m 0755 "$build/mediasoup-worker" "$BIN.tmp" && mv -f "$BIN.tmp" "$BIN"
rm -rf "$src" "$build"
stamp_set "$STEP" "$key"
log "mediasoup-worker $V built in $((SECONDS - start)) s: $BIN"
