#!/usr/bin/env bash
# Functional smoke checks for the Go-built tools in $SCH_BIN (k6, toxiproxy, minio).
# Sourced by scripts/setup.d/30-go-tools.sh right after a build; can also be run by hand:
#   scripts/go/smoke.sh [k6] [toxiproxy] [minio]      (no argument: all three)
# Everything listens on 127.0.0.1 on free ports and is stopped (by PID) before returning.
# Each smoke_* function runs in a subshell, prints what it saw, and returns non-zero on failure.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  # shellcheck source=../lib.sh
  source "$(dirname "$0")/../lib.sh"
fi

# A free TCP port on 127.0.0.1 (the kernel picks it; tiny race window, fine for a smoke test).
_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# _wait_http URL SECONDS PID: poll URL until it answers 2xx; give up early if PID died.
_wait_http() {
  local url=$1 deadline=$((SECONDS + $2)) pid=$3
  while [ "$SECONDS" -lt "$deadline" ]; do
    curl -fsS -m 2 -o /dev/null "$url" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "process $pid exited before $url answered"; return 1; }
    sleep 0.3
  done
  echo "no answer from $url within $2 s"
  return 1
}

_stop() { # PID...: stop our own background processes
  local p
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}

# k6: `k6 version`, then a 2-VU / 10-iteration script against a loopback python http.server with
# `--out json=`; the JSON output must hold 10 http_reqs points and the checks threshold must pass.
smoke_k6() (
  dir=$(mktemp -d "${TMPDIR:-/tmp}/sch-k6-smoke.XXXXXX")
  pids=()
  trap '_stop "${pids[@]}"; rm -rf "$dir"' EXIT
  "$SCH_BIN/k6" version || { echo "k6 version failed"; exit 1; }
  port=$(_free_port)
  echo ok >"$dir/index.html"
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >"$dir/http.log" 2>&1 &
  pids+=($!)
  _wait_http "http://127.0.0.1:$port/index.html" 15 "${pids[0]}" || exit 1
  cat >"$dir/smoke.js" <<EOF
import http from 'k6/http';
import { check } from 'k6';
export const options = { vus: 2, iterations: 10, thresholds: { checks: ['rate==1'] } };
export default function () {
  const res = http.get('http://127.0.0.1:${port}/index.html');
  check(res, { 'status is 200': (r) => r.status === 200 });
}
EOF
  K6_NO_USAGE_REPORT=true timeout 60 "$SCH_BIN/k6" run --quiet --out "json=$dir/out.json" "$dir/smoke.js" \
    >"$dir/k6.log" 2>&1 || { echo "k6 run failed:"; tail -n 20 "$dir/k6.log"; exit 1; }
  n=$(grep '"metric":"http_reqs"' "$dir/out.json" | grep -c '"type":"Point"' || true)
  [ "$n" = 10 ] || { echo "expected 10 http_reqs points in --out json, got ${n:-0}"; head -c 600 "$dir/out.json"; exit 1; }
  echo "k6 run: 10/10 requests to 127.0.0.1:$port, --out json wrote $(wc -l <"$dir/out.json") lines"
  # The harness's own output (k6ext/output-sch), when built in: its CSV holds exactly the metric asked for.
  case " ${K6_EXTENSIONS:-} " in *output-sch*)
    K6_NO_USAGE_REPORT=true timeout 60 "$SCH_BIN/k6" run --quiet --out "sch=file=$dir/out.csv,metrics=http_reqs" "$dir/smoke.js" \
      >"$dir/k6-sch.log" 2>&1 || { echo "k6 run --out sch failed:"; tail -n 20 "$dir/k6-sch.log"; exit 1; }
    n=$(grep -c '^http_reqs,' "$dir/out.csv" || true)
    others=$(grep -vc -e '^http_reqs,' -e '^metric_name,' "$dir/out.csv" || true)
    [ "$n" = 10 ] && [ "$others" = 0 ] || { echo "expected 10 http_reqs rows and nothing else in --out sch, got $n (+$others)"; head -c 600 "$dir/out.csv"; exit 1; }
    echo "k6 run --out sch: 10 http_reqs rows" ;;
  esac
)

# toxiproxy: start the server, check /version, create a proxy with toxiproxy-cli in front of the API
# itself, add a 300 ms latency toxic and see it on a request through the proxy.
smoke_toxiproxy() (
  dir=$(mktemp -d "${TMPDIR:-/tmp}/sch-toxi-smoke.XXXXXX")
  pids=()
  trap '_stop "${pids[@]}"; rm -rf "$dir"' EXIT
  api=$(_free_port)
  "$SCH_BIN/toxiproxy-server" -host 127.0.0.1 -port "$api" >"$dir/server.log" 2>&1 &
  pids+=($!)
  _wait_http "http://127.0.0.1:$api/version" 15 "${pids[0]}" || { tail -n 20 "$dir/server.log"; exit 1; }
  v=$(curl -fsS -m 5 "http://127.0.0.1:$api/version") || exit 1
  echo "toxiproxy /version: $v"
  case "$v" in *"${TOXIPROXY_VERSION#v}"*) ;; *) echo "expected version ${TOXIPROXY_VERSION#v}"; exit 1 ;; esac
  cli=("$SCH_BIN/toxiproxy-cli" --host "http://127.0.0.1:$api")
  listen=$(_free_port)
  "${cli[@]}" create --listen "127.0.0.1:$listen" --upstream "127.0.0.1:$api" smoke || exit 1
  "${cli[@]}" toxic add --type latency --attribute latency=300 --toxicName lag smoke || exit 1
  t=$(curl -fsS -m 10 -o /dev/null -w '%{time_total}' "http://127.0.0.1:$listen/version") || {
    echo "request through the proxy failed"; exit 1; }
  awk -v t="$t" 'BEGIN { exit !(t >= 0.3) }' || { echo "latency toxic not applied (took ${t}s)"; exit 1; }
  echo "request through proxy with 300 ms latency toxic took ${t}s"
)

# minio: start a single-drive server, wait for /minio/health/live, then create a bucket and put/get an
# object with curl's SigV4 signing (root credentials minioadmin/minioadmin).
smoke_minio() (
  dir=$(mktemp -d "${TMPDIR:-/tmp}/sch-minio-smoke.XXXXXX")
  pids=()
  trap '_stop "${pids[@]}"; rm -rf "$dir"' EXIT
  "$SCH_BIN/minio" --version || exit 1
  port=$(_free_port); cport=$(_free_port)
  mkdir -p "$dir/data"
  MINIO_ROOT_USER=minioadmin MINIO_ROOT_PASSWORD=minioadmin MINIO_BROWSER=off MINIO_UPDATE=off \
    "$SCH_BIN/minio" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$cport" \
    "$dir/data" >"$dir/server.log" 2>&1 &
  pids+=($!)
  _wait_http "http://127.0.0.1:$port/minio/health/live" 60 "${pids[0]}" || { tail -n 20 "$dir/server.log"; exit 1; }
  echo "minio /minio/health/live: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/minio/health/live")"
  s3=(curl -fsS -m 10 --aws-sigv4 "aws:amz:us-east-1:s3" --user minioadmin:minioadmin)
  echo "hello from smoke" >"$dir/obj.txt"
  "${s3[@]}" -X PUT "http://127.0.0.1:$port/smoke" >/dev/null || { echo "create bucket failed"; exit 1; }
  "${s3[@]}" -T "$dir/obj.txt" "http://127.0.0.1:$port/smoke/obj.txt" >/dev/null || { echo "put failed"; exit 1; }
  got=$("${s3[@]}" "http://127.0.0.1:$port/smoke/obj.txt") || { echo "get failed"; exit 1; }
  [ "$got" = "hello from smoke" ] || { echo "object round trip mismatch: '$got'"; exit 1; }
  echo "minio S3 bucket create + put + get round trip ok"
)

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  tools=("$@")
  [ ${#tools[@]} -gt 0 ] || tools=(k6 toxiproxy minio)
  for t in "${tools[@]}"; do
    log "smoke: $t"
    "smoke_$t" || fail "go-tools:$t" "smoke test failed (see output above)" "scripts/go/smoke.sh $t"
  done
  log "smoke: all ok (${tools[*]})"
fi
