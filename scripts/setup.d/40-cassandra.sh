#!/usr/bin/env bash
# Step "cassandra":
#  1. put org.apache.cassandra:cassandra-all:$CASSANDRA_VERSION and all its runtime dependencies into
#     $SCH_CACHE/cassandra/$CASSANDRA_VERSION/lib (flat directory of jars = the classpath). Maven
#     Central only; Maven's local repo is $SCH_CACHE/m2, so a re-run or a fresh clone downloads nothing.
#  2. extract upstream's JIT hints (META-INF/hotspot_compiler) next to it;
#  3. start the node once (scripts/cassandra/run.sh, a private temp dir and free ports) to prove it
#     starts, and record a class-data-sharing archive (cassandra.jsa) that cuts later start-up CPU.
# How to launch: scripts/cassandra/README.md.
source "$(dirname "$0")/../lib.sh"

STEP=cassandra
RETRY="scripts/setup --only cassandra"
CDIR="$HARNESS_ROOT/scripts/cassandra"
POM="$CDIR/pom.xml"
DEST="$SCH_CACHE/cassandra/$CASSANDRA_VERSION"
LIB="$DEST/lib"
M2="$SCH_CACHE/m2"
JAR="$LIB/cassandra-all-$CASSANDRA_VERSION.jar"

[ -f "$POM" ] || fail "$STEP" "missing $POM" "$RETRY"
command -v java >/dev/null 2>&1 || fail "$STEP" "java not found (Cassandra 5.0 needs JDK 17)" "$RETRY"
JVM_ID="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.vm.version = //p')"
KEY_LIB="$CASSANDRA_VERSION $(sha256sum "$POM" | cut -d' ' -f1)"
# The CDS archive depends on the jars, the JDK build and the launch options.
KEY_CDS="$KEY_LIB $JVM_ID $(cat "$CDIR/run.sh" "$CDIR/jvm17.options" "$CDIR/cassandra.yaml.tpl" | sha256sum | cut -d' ' -f1)"

if stamp_ok "$STEP" "$KEY_LIB" && [ -f "$JAR" ] \
   && stamp_ok "$STEP-cds" "$KEY_CDS" && [ -f "$DEST/cassandra.jsa" ]; then
  log "cassandra $CASSANDRA_VERSION: cached in $DEST"
  exit 0
fi

# --- 1. jars ------------------------------------------------------------------------------------
if stamp_ok "$STEP" "$KEY_LIB" && [ -f "$JAR" ]; then
  log "cassandra $CASSANDRA_VERSION: jars cached in $LIB"
else
  command -v mvn >/dev/null 2>&1 || fail "$STEP" "mvn not found (apt-get install maven)" "$RETRY"
  log "cassandra $CASSANDRA_VERSION: fetching cassandra-all + runtime deps from Maven Central"
  TMP="$DEST/lib.tmp.$$"
  rm -rf "$TMP"
  mkdir -p "$TMP" "$M2"
  trap 'rm -rf "$TMP"' EXIT
  MVN_LOG="$DEST/mvn.log"
  if ! mvn -q -B -Dstyle.color=never -f "$POM" \
        -Dmaven.repo.local="$M2" \
        -Dcassandra.version="$CASSANDRA_VERSION" \
        -DoutputDirectory="$TMP" \
        -DincludeScope=runtime \
        dependency:copy-dependencies >"$MVN_LOG" 2>&1; then
    tail -n 20 "$MVN_LOG" | sed 's/\x1b\[[0-9;]*m//g' >&2 || true
    fail "$STEP" "mvn dependency:copy-dependencies failed for cassandra-all:$CASSANDRA_VERSION (see $MVN_LOG)" "$RETRY"
  fi
  [ -f "$TMP/cassandra-all-$CASSANDRA_VERSION.jar" ] \
    || fail "$STEP" "cassandra-all-$CASSANDRA_VERSION.jar missing after download" "$RETRY"
  n=$(find "$TMP" -maxdepth 1 -name '*.jar' | wc -l)
  [ "$n" -ge 50 ] || fail "$STEP" "only $n jars downloaded, expected about 100" "$RETRY"
  rm -rf "$LIB"
  mv "$TMP" "$LIB"
  trap - EXIT
  rm -f "$DEST/cassandra.jsa"   # made for the old jars
  stamp_set "$STEP" "$KEY_LIB"
  log "cassandra $CASSANDRA_VERSION: $n jars, $(du -sh "$LIB" | cut -f1) in $LIB"
fi

# --- 2. JIT hints ---------------------------------------------------------------------------------
{ echo quiet; unzip -p "$JAR" META-INF/hotspot_compiler; } > "$DEST/hotspot_compiler.tmp" 2>/dev/null \
  && mv "$DEST/hotspot_compiler.tmp" "$DEST/hotspot_compiler" \
  || { rm -f "$DEST/hotspot_compiler.tmp"; log "cassandra: could not extract META-INF/hotspot_compiler (unzip missing?); skipped"; }

# --- 3. smoke start + CDS archive -------------------------------------------------------------------
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() { local p; for p in "$@"; do port_free "$p" && { echo "$p"; return 0; }; done; return 1; }
NPORT=$(pick_port 29942 29943 29944 29945) || fail "$STEP" "no free port for the smoke start" "$RETRY"
SPORT=$(pick_port 27942 27943 27944 27945) || fail "$STEP" "no free port for the smoke start" "$RETRY"
RUN="$(mktemp -d "${TMPDIR:-/tmp}/sch-cassandra-setup.XXXXXX")"
JSA_TMP="$DEST/cassandra.jsa.tmp.$$"
rm -f "$JSA_TMP" "$DEST/cassandra.jsa"
log "cassandra $CASSANDRA_VERSION: smoke start on 127.0.0.1:$NPORT + CDS archive (about 1 min)"
CASS_DIR="$RUN" CASS_NATIVE_PORT="$NPORT" CASS_STORAGE_PORT="$SPORT" CASS_CDS_DUMP="$JSA_TMP" \
  "$CDIR/run.sh" >"$RUN/out.log" 2>&1 &
pid=$!
cleanup() { kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$RUN" "$JSA_TMP"; }
trap cleanup EXIT
ok=0
for _ in $(seq 1 480); do          # up to 240 s (a busy 2-core machine needs ~30 s)
  if grep -q 'Startup complete' "$RUN/out.log" 2>/dev/null; then ok=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
if [ "$ok" != 1 ]; then
  tail -n 30 "$RUN/out.log" >&2 || true
  fail "$STEP" "Cassandra did not start (log tail above)" "$RETRY"
fi
port_free "$NPORT" && fail "$STEP" "Cassandra logged 'Startup complete' but 127.0.0.1:$NPORT is closed" "$RETRY"
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true   # the JVM writes the archive while exiting (~15 s)
if [ -s "$JSA_TMP" ]; then
  mv "$JSA_TMP" "$DEST/cassandra.jsa"
else
  tail -n 30 "$RUN/out.log" >&2 || true
  fail "$STEP" "JVM did not write the CDS archive $JSA_TMP" "$RETRY"
fi
trap - EXIT
rm -rf "$RUN"
stamp_set "$STEP-cds" "$KEY_CDS"
log "cassandra $CASSANDRA_VERSION: ready ($(du -sh "$DEST/cassandra.jsa" | cut -f1) CDS archive)"
