#!/usr/bin/env bash
# Launcher for one throw-away Cassandra node (the lab's cassandra service runs it), in the foreground (exec's java).
# The TypeScript lab mirrors this; README.md explains every option. Environment:
#   CASS_ADDRESS      listen/rpc address (default 127.0.0.1)
#   CASS_DIR          per-instance directory (required; cassandra.yaml, data, commitlog... go here)
#   CASS_NATIVE_PORT  CQL port                                     (default 29042)
#   CASS_STORAGE_PORT internode port (also the seed's port)        (default 27000)
#   CASS_HEAP         -Xms = -Xmx                                  (default 768M)
#   CASS_AUTH         1 = PasswordAuthenticator + CassandraAuthorizer, 0 = AllowAll (default 0)
#   CASS_JMX_PORT     set = JMX on 127.0.0.1:PORT (nodetool); unset = no JMX listener at all
#   CASS_CLUSTER      cluster name                                 (default sch-test)
#   CASS_CDS_DUMP     path: record a CDS archive at exit (used once by setup.d/40-cassandra.sh)
#   CASS_EXTRA_JVM    extra JVM options, appended last (so they override)
#   JAVA              java binary, JDK 17                          (default java)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../versions.env"
SCH_CACHE="${SCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/secureconnect-harness}"
HOME_DIR="$SCH_CACHE/cassandra/$CASSANDRA_VERSION"
LIB="$HOME_DIR/lib"
[ -f "$LIB/cassandra-all-$CASSANDRA_VERSION.jar" ] || { echo "run: scripts/setup --only cassandra" >&2; exit 1; }

: "${CASS_DIR:?set CASS_DIR}"
NATIVE_PORT="${CASS_NATIVE_PORT:-29042}"
STORAGE_PORT="${CASS_STORAGE_PORT:-27000}"
HEAP="${CASS_HEAP:-768M}"
CLUSTER="${CASS_CLUSTER:-sch-test}"
if [ "${CASS_AUTH:-0}" = 1 ]; then AUTHN=PasswordAuthenticator AUTHZ=CassandraAuthorizer
else AUTHN=AllowAllAuthenticator AUTHZ=AllowAllAuthorizer; fi

mkdir -p "$CASS_DIR"/{data,commitlog,saved_caches,hints,cdc_raw,logs}
sed -e "s|{{CLUSTER_NAME}}|$CLUSTER|g" -e "s|{{DIR}}|$CASS_DIR|g" \
    -e "s|{{ADDRESS}}|${CASS_ADDRESS:-127.0.0.1}|g" -e "s|{{STORAGE_PORT}}|$STORAGE_PORT|g" -e "s|{{NATIVE_PORT}}|$NATIVE_PORT|g" \
    -e "s|{{AUTHENTICATOR}}|$AUTHN|g" -e "s|{{AUTHORIZER}}|$AUTHZ|g" \
    "$here/cassandra.yaml.tpl" > "$CASS_DIR/cassandra.yaml"

mapfile -t JVM_OPTS < <(grep -E '^-' "$here/jvm17.options")
# Explicit, sorted classpath (not "lib/*"): the CDS archive is only used with the same classpath.
CP="$(ls "$LIB"/*.jar | LC_ALL=C sort | paste -sd:)"
OPT=()
# Upstream adds jamm as a javaagent (object sizing for memtable accounting). Not while dumping the
# CDS archive: the JVM refuses to dump with an agent, and the archive still serves runs that add it.
[ -z "${CASS_CDS_DUMP:-}" ] && OPT+=(-javaagent:"$(ls "$LIB"/jamm-*.jar | head -n1)")
# Upstream's JIT hints (META-INF/hotspot_compiler, extracted by setup).
[ -f "$HOME_DIR/hotspot_compiler" ] && OPT+=(-XX:CompileCommandFile="$HOME_DIR/hotspot_compiler")
# Class-data-sharing archive made by setup: ~2.5 CPU-s (~15%) less to start. A stale or foreign archive is
# ignored by the JVM (with a warning), never fatal.
if [ -n "${CASS_CDS_DUMP:-}" ]; then OPT+=(-XX:ArchiveClassesAtExit="$CASS_CDS_DUMP")
elif [ -f "$HOME_DIR/cassandra.jsa" ]; then OPT+=(-XX:SharedArchiveFile="$HOME_DIR/cassandra.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off)
fi
# JMX only on request; pin the RMI port too, or the JVM opens a second, random one.
[ -n "${CASS_JMX_PORT:-}" ] && OPT+=(-Dcassandra.jmx.local.port="$CASS_JMX_PORT" -Dcom.sun.management.jmxremote.rmi.port="$CASS_JMX_PORT")

# As root, Cassandra's unconditional mlockall() succeeds and faults in the whole heap (~4 s and
# +500 MB RSS here). Dropping CAP_IPC_LOCK makes it fail fast (one WARN line) instead.
WRAP=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
  WRAP=(setpriv --bounding-set=-ipc_lock --inh-caps=-ipc_lock)
fi

cd "$CASS_DIR"
exec "${WRAP[@]}" "${JAVA:-java}" \
  "${JVM_OPTS[@]}" \
  -Xms"$HEAP" -Xmx"$HEAP" \
  "${OPT[@]}" \
  -Dcassandra.config="file://$CASS_DIR/cassandra.yaml" \
  -Dcassandra.storagedir="$CASS_DIR" \
  -Dcassandra.logdir="$CASS_DIR/logs" \
  -Dlogback.configurationFile="$here/logback.xml" \
  -Dcassandra-foreground=yes \
  -Dcassandra.skip_wait_for_gossip_to_settle=0 \
  -Dcassandra.superuser_setup_delay_ms=0 \
  -Dcassandra.memtable.row_overhead_size=180 \
  -Dcassandra.unsafesystem=true \
  ${CASS_EXTRA_JVM:-} \
  -cp "$CP" \
  org.apache.cassandra.service.CassandraDaemon
