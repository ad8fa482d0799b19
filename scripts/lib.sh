# Shared helpers for scripts/setup and its steps. Source, don't execute.
set -euo pipefail

HARNESS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Build cache outside the clone so a fresh clone on the same machine reuses it.
SCH_CACHE="${SCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/secureconnect-harness}"
SCH_BIN="$SCH_CACHE/bin"
mkdir -p "$SCH_CACHE" "$SCH_BIN"
# shellcheck source=versions.env
source "$HARNESS_ROOT/scripts/versions.env"

log()  { printf '[setup] %s\n' "$*" >&2; }
# fail STEP CAUSE RETRY: print a failure that says which step, why, and how to retry; exit 1.
fail() {
  printf '[setup] FAILED step "%s": %s\n[setup] retry with: %s\n' "$1" "$2" "$3" >&2
  exit 1
}
# stamp_ok NAME KEY: true when step NAME already completed with the same KEY (versions, patch hash).
stamp_ok() { [ -f "$SCH_CACHE/stamps/$1" ] && [ "$(cat "$SCH_CACHE/stamps/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$SCH_CACHE/stamps"; printf '%s' "$2" > "$SCH_CACHE/stamps/$1"; }
