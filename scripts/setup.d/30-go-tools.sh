#!/usr/bin/env bash
# Setup step "go-tools": builds k6 (with xk6), toxiproxy-server, toxiproxy-cli and minio from the Go
# module proxy into $SCH_BIN, at the versions pinned in scripts/versions.env.
#
# Idempotent and cached: the Go module cache and build cache live in $SCH_CACHE/go, and each tool has a
# stamp (versions + Go version + recipe). A tool whose stamp matches and whose binary answers its
# version command is skipped, so a second run does nothing. To force a rebuild, delete
# $SCH_CACHE/stamps/go-tools-<tool> (or the binary). Build logs: $SCH_CACHE/go/logs/<tool>.log.
#
# How k6 is built, and why there is a shim:
#   xk6 v1.3.3 (the newest version the proxy serves here) generates a main package that imports
#   "go.k6.io/k6/cmd" and requires the module go.k6.io/k6; its build library (k6foundry v0.4.7)
#   hard-codes that path. k6 v2 moved to the module path go.k6.io/k6/v2, so `xk6 build v2.2.0` fails
#   (go.k6.io/k6 cannot have a v2 version), and so does `--k6-repo go.k6.io/k6/v2` (a replace of
#   go.k6.io/k6 by the v2 module): `go mod tidy` stops because the v2 source, served as go.k6.io/k6,
#   imports go.k6.io/k6/v2/cmd/state and go.k6.io/k6/v2/internal/cmd, and an internal package of
#   go.k6.io/k6/v2 may not be imported from go.k6.io/k6/cmd anyway. (Both tried with xk6 v1.3.3.)
#   Newer xk6 releases answer 403 on the proxy here.
#   So we give xk6 a local stand-in for go.k6.io/k6 ($SCH_CACHE/go/k6-v2-shim, generated below): one
#   package "go.k6.io/k6/cmd" whose Execute() calls go.k6.io/k6/v2/cmd.Execute() - exactly what xk6's
#   main would call - and whose go.mod requires go.k6.io/k6/v2 at $K6_VERSION. xk6 then does its normal
#   build (`--k6-repo <shim>`, `--with` for each of $K6_EXTENSIONS, -trimpath -ldflags "-s -w",
#   CGO off). Extensions must be k6 v2 ones (they import go.k6.io/k6/v2/...). After the build we check
#   with `go version -m` that the binary holds go.k6.io/k6/v2 at exactly $K6_VERSION (an extension
#   requiring a newer k6 would otherwise raise it silently).
#
# toxiproxy and minio: no replace directives in their go.mod, so `go install MODULE/cmd@VERSION` works,
# with the ldflags their release builds use (version strings) and minio's `kqueue` build tag.
source "$(dirname "$0")/../lib.sh"

STEP_RETRY="scripts/setup --only go-tools"
# Bump when the build recipe (flags, shim, ldflags) changes, to invalidate the stamps.
GO_TOOLS_RECIPE=1
GO_MIN_MINOR=25 # k6 v2 needs go >= 1.25 (minio 1.24, toxiproxy 1.23)

# ---- Go toolchain and a dedicated, persistent Go environment -------------------------------------
# The first of $GO, /usr/local/go/bin/go, `go` on PATH that is new enough (Debian's own golang
# package is too old for k6 v2).
go_new_enough() {
  local v minor
  v="$(GOTOOLCHAIN=local "$1" env GOVERSION 2>/dev/null)" || return 1
  minor="$(printf '%s' "$v" | sed -nE 's/^go1\.([0-9]+).*/\1/p')"
  [ -n "$minor" ] && [ "$minor" -ge "$GO_MIN_MINOR" ]
}
go_seen=""
for cand in "${GO:-}" /usr/local/go/bin/go "$(command -v go || true)"; do
  [ -n "$cand" ] && [ -x "$cand" ] || continue
  go_new_enough "$cand" && { GO="$cand"; go_seen=""; break; }
  go_seen+=" $cand=$(GOTOOLCHAIN=local "$cand" env GOVERSION 2>/dev/null || echo '?')"
  GO=""
done
[ -n "${GO:-}" ] || fail "go-tools:go" \
  "no Go toolchain >= go1.$GO_MIN_MINOR (found:${go_seen:- none}); install Go from go.dev or set GO=/path/to/go" \
  "$STEP_RETRY"
# xk6 runs `go` from PATH: make sure it is the same one.
export PATH="$(dirname "$GO"):$PATH"
GO_VER="$("$GO" env GOVERSION)"

GO_ROOT_DIR="$SCH_CACHE/go"
export GOPATH="$GO_ROOT_DIR/path"
export GOMODCACHE="$GOPATH/pkg/mod"
export GOCACHE="$GO_ROOT_DIR/build"
export GOFLAGS="-trimpath -buildvcs=false"
export GOTOOLCHAIN=local     # never try to download another toolchain
export CGO_ENABLED=0         # static binaries, as the upstream release builds
export GOPROXY="${GOPROXY:-https://proxy.golang.org}"
unset GOOS GOARCH GOARM GOBIN
LOG_DIR="$GO_ROOT_DIR/logs"
TMP_DIR="$GO_ROOT_DIR/tmp"
mkdir -p "$GOPATH" "$GOCACHE" "$LOG_DIR" "$TMP_DIR"

# shellcheck source=../go/smoke.sh
source "$HARNESS_ROOT/scripts/go/smoke.sh"

# run_logged TOOL LOGFILE CMD...: run CMD with output to LOGFILE, print a progress line every 30 s,
# and on failure stop the setup with the log's last lines as the cause.
run_logged() {
  local tool=$1 logf=$2 start=$SECONDS pid rc=0 next=30
  shift 2
  { printf '$'; printf ' %q' "$@"; printf '\n'; } >>"$logf"
  "$@" >>"$logf" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if [ $((SECONDS - start)) -ge "$next" ]; then
      log "go-tools:$tool: still building... $((SECONDS - start)) s (log: $logf)"
      next=$((next + 30))
    fi
  done
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "go-tools:$tool" "exit $rc after $((SECONDS - start)) s; last lines of $logf:
$(tail -n 15 "$logf")" "$STEP_RETRY"
  fi
}

# tool_ready NAME KEY CMD...: stamp matches KEY and CMD (a version command) runs.
tool_ready() {
  local name=$1 key=$2
  shift 2
  stamp_ok "go-tools-$name" "$key" && timeout 30 "$@" >/dev/null 2>&1
}

# smoke NAME: run smoke_NAME from scripts/go/smoke.sh; on failure stop with its output as the cause.
smoke() {
  local out
  if out="$("smoke_$1" 2>&1)"; then
    printf '%s\n' "$out" | sed "s/^/[setup]   /" >&2
  else
    fail "go-tools:$1" "smoke test failed:
$(printf '%s\n' "$out" | tail -n 20)" "$STEP_RETRY (or: scripts/go/smoke.sh $1)"
  fi
}

# ---- k6 via xk6 ----------------------------------------------------------------------------------
# k6_extension_args: one `--with` per $K6_EXTENSIONS entry, a local directory (MODULE=dir) resolved against
# the harness root; sets K6_EXT_HASH to a hash of the local directories' files, so the stamp follows their
# content (an edited extension is tested and rebuilt, an unchanged one is not), and K6_EXT_DIRS to them.
k6_extension_args() {
  local ext mod dir hashes=""
  K6_EXT_ARGS=()
  K6_EXT_DIRS=()
  for ext in ${K6_EXTENSIONS:-}; do
    case "$ext" in
      *=*)
        mod="${ext%%=*}" dir="${ext#*=}"
        case "$dir" in /*) ;; *) dir="$HARNESS_ROOT/$dir" ;; esac
        [ -f "$dir/go.mod" ] || fail "go-tools:k6" "K6_EXTENSIONS: $ext: no go.mod in $dir" "$STEP_RETRY"
        hashes+="$mod:$(cd "$dir" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 |
          sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16) "
        K6_EXT_ARGS+=(--with "$mod=$dir")
        K6_EXT_DIRS+=("$dir")
        ;;
      *) K6_EXT_ARGS+=(--with "$ext") ;;
    esac
  done
  K6_EXT_HASH="${hashes% }"
}

build_k6() {
  k6_extension_args
  local key="k6=$K6_VERSION xk6=$XK6_VERSION ext=[${K6_EXTENSIONS:-}] exthash=[$K6_EXT_HASH] $GO_VER recipe=$GO_TOOLS_RECIPE"
  if tool_ready k6 "$key" "$SCH_BIN/k6" version; then
    log "go-tools:k6: up to date ($K6_VERSION, xk6 $XK6_VERSION)"
    return
  fi
  local logf="$LOG_DIR/k6.log" start=$SECONDS
  : >"$logf"
  command -v git >/dev/null || fail "go-tools:k6" "xk6 needs git on PATH (apt-get install git)" "$STEP_RETRY"

  local xk6_bin="$GO_ROOT_DIR/bin/xk6-$XK6_VERSION"
  if ! timeout 30 "$xk6_bin" version >/dev/null 2>&1; then
    # Not `go install go.k6.io/xk6/cmd/xk6@VERSION`: that also reads the module's version list (to
    # look for a deprecation notice), and the proxy here answers 403 for xk6's list. Building the same
    # package from a one-line wrapper module gives the same dependency versions (xk6's go.mod) without
    # that lookup.
    local wrap="$GO_ROOT_DIR/xk6-build"
    rm -rf "$wrap"
    mkdir -p "$wrap" "$GO_ROOT_DIR/bin"
    printf 'module sch/xk6-build\n\ngo 1.25\n\nrequire go.k6.io/xk6 %s\n' "$XK6_VERSION" >"$wrap/go.mod"
    log "go-tools:k6: building xk6 $XK6_VERSION"
    (cd "$wrap" && run_logged k6 "$logf" "$GO" build -mod=mod -o "$TMP_DIR/xk6.new" go.k6.io/xk6/cmd/xk6)
    mv -f "$TMP_DIR/xk6.new" "$xk6_bin"
  fi

  # The stand-in for go.k6.io/k6 (see the header comment), regenerated from the pinned version.
  local shim="$GO_ROOT_DIR/k6-v2-shim"
  rm -rf "$shim"
  mkdir -p "$shim/cmd"
  cat >"$shim/go.mod" <<EOF
// Generated by scripts/setup.d/30-go-tools.sh: lets xk6 (which imports go.k6.io/k6/cmd) build k6 v2.
module go.k6.io/k6

go 1.25.0

require go.k6.io/k6/v2 $K6_VERSION
EOF
  cat >"$shim/cmd/cmd.go" <<'EOF'
// Package cmd forwards xk6's generated main to k6 v2's entry point (go.k6.io/k6/v2/cmd).
// Generated by scripts/setup.d/30-go-tools.sh.
package cmd

import k6cmd "go.k6.io/k6/v2/cmd"

// Execute runs k6 v2, as xk6's generated main expects from go.k6.io/k6/cmd.
func Execute() { k6cmd.Execute() }
EOF

  # A local extension's own tests (e.g. k6ext/output-sch: rows as encoding/csv reads them, no allocation per
  # sample) run before it goes into k6.
  local extdir
  for extdir in "${K6_EXT_DIRS[@]}"; do
    log "go-tools:k6: go test in $extdir"
    (cd "$extdir" && run_logged k6 "$logf" "$GO" test -count=1 ./...)
  done

  local args=(build "" --k6-repo "$shim" --output "$TMP_DIR/k6.new"
    --build-flags=-trimpath "--build-flags=-ldflags=-s -w")
  args+=("${K6_EXT_ARGS[@]}")
  log "go-tools:k6: xk6 build k6 $K6_VERSION${K6_EXTENSIONS:+ with $K6_EXTENSIONS} (cold: ~3-5 min on 2 cores)"
  # The k6 version is the empty positional argument on purpose: with --k6-repo, xk6 appends a version to
  # the replace target, which a directory cannot have. The pinned version is in the shim's go.mod.
  # K6_VERSION and XK6_* in the environment would be read by xk6 as flags: keep them out.
  run_logged k6 "$logf" env -u K6_VERSION -u XK6_K6_REPO -u XK6_BUILD_FLAGS -u XK6_RACE_DETECTOR \
    -u XK6_SKIP_CLEANUP "$xk6_bin" "${args[@]}"

  local got
  got="$("$GO" version -m "$TMP_DIR/k6.new" | awk '$1 == "dep" && $2 == "go.k6.io/k6/v2" { print $3 }')"
  [ "$got" = "$K6_VERSION" ] || fail "go-tools:k6" \
    "built k6 holds go.k6.io/k6/v2 '${got:-none}', pinned $K6_VERSION (an extension in K6_EXTENSIONS needs a newer k6?)" \
    "$STEP_RETRY"
  mv -f "$TMP_DIR/k6.new" "$SCH_BIN/k6"
  log "go-tools:k6: built in $((SECONDS - start)) s ($(du -h "$SCH_BIN/k6" | cut -f1)); smoke test"
  smoke k6
  stamp_set go-tools-k6 "$key"
}

# ---- toxiproxy -----------------------------------------------------------------------------------
build_toxiproxy() {
  local key="toxiproxy=$TOXIPROXY_VERSION $GO_VER recipe=$GO_TOOLS_RECIPE"
  if tool_ready toxiproxy "$key" "$SCH_BIN/toxiproxy-server" -version &&
    timeout 30 "$SCH_BIN/toxiproxy-cli" --version >/dev/null 2>&1; then
    log "go-tools:toxiproxy: up to date ($TOXIPROXY_VERSION)"
    return
  fi
  local logf="$LOG_DIR/toxiproxy.log" start=$SECONDS out="$TMP_DIR/toxiproxy"
  : >"$logf"
  rm -rf "$out"
  mkdir -p "$out"
  local mod=github.com/Shopify/toxiproxy/v2
  log "go-tools:toxiproxy: go install $mod/cmd/{server,cli}@$TOXIPROXY_VERSION"
  GOBIN="$out" run_logged toxiproxy "$logf" "$GO" install \
    -ldflags "-s -w -X $mod.Version=${TOXIPROXY_VERSION#v}" \
    "$mod/cmd/server@$TOXIPROXY_VERSION" "$mod/cmd/cli@$TOXIPROXY_VERSION"
  mv -f "$out/server" "$SCH_BIN/toxiproxy-server"
  mv -f "$out/cli" "$SCH_BIN/toxiproxy-cli"
  log "go-tools:toxiproxy: built in $((SECONDS - start)) s; smoke test"
  smoke toxiproxy
  stamp_set go-tools-toxiproxy "$key"
}

# ---- minio ---------------------------------------------------------------------------------------
build_minio() {
  local key="minio=$MINIO_VERSION $GO_VER recipe=$GO_TOOLS_RECIPE"
  if tool_ready minio "$key" "$SCH_BIN/minio" --version; then
    log "go-tools:minio: up to date ($MINIO_VERSION)"
    return
  fi
  # The version strings minio's own build (buildscripts/gen-ldflags.go) stamps, derived from the
  # pseudo-version vX.Y.Z-YYYYMMDDhhmmss-<12-hex commit>.
  local ts commit
  ts="$(printf '%s' "$MINIO_VERSION" | sed -nE 's/^v[0-9.]+-([0-9]{14})-([0-9a-f]{12})$/\1/p')"
  commit="${MINIO_VERSION##*-}"
  [ -n "$ts" ] || fail "go-tools:minio" "MINIO_VERSION '$MINIO_VERSION' is not a full pseudo-version" "$STEP_RETRY"
  local rfc="${ts:0:4}-${ts:4:2}-${ts:6:2}T${ts:8:2}:${ts:10:2}:${ts:12:2}Z"
  local tag="DEVELOPMENT.${ts:0:4}-${ts:4:2}-${ts:6:2}T${ts:8:2}-${ts:10:2}-${ts:12:2}Z"
  local pkg=github.com/minio/minio/cmd
  local ldflags="-s -w -X $pkg.Version=$rfc -X $pkg.CopyrightYear=${ts:0:4} -X $pkg.ReleaseTag=$tag"
  ldflags+=" -X $pkg.CommitID=$commit -X $pkg.ShortCommitID=$commit"

  local logf="$LOG_DIR/minio.log" start=$SECONDS out="$TMP_DIR/minio"
  : >"$logf"
  rm -rf "$out"
  mkdir -p "$out"
  log "go-tools:minio: go install github.com/minio/minio@$MINIO_VERSION (cold: several minutes on 2 cores)"
  GOBIN="$out" run_logged minio "$logf" "$GO" install -tags kqueue -ldflags "$ldflags" \
    "github.com/minio/minio@$MINIO_VERSION"
  mv -f "$out/minio" "$SCH_BIN/minio"
  log "go-tools:minio: built in $((SECONDS - start)) s ($(du -h "$SCH_BIN/minio" | cut -f1)); smoke test"
  smoke minio
  stamp_set go-tools-minio "$key"
}

step_start=$SECONDS
log "go-tools: $GO_VER, cache $GO_ROOT_DIR, binaries -> $SCH_BIN"
build_toxiproxy
build_k6
build_minio
log "go-tools: done in $((SECONDS - step_start)) s"
