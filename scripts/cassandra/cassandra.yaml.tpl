# cassandra.yaml template for a single throw-away Cassandra 5.0 node on loopback.
# Placeholders {{NAME}} are replaced by the launcher (scripts/cassandra/run.sh or the TypeScript lab):
#   ADDRESS (listen, rpc and seed address), CLUSTER_NAME, DIR (absolute, per-instance), STORAGE_PORT, NATIVE_PORT,
#   AUTHENTICATOR (PasswordAuthenticator | AllowAllAuthenticator),
#   AUTHORIZER    (CassandraAuthorizer   | AllowAllAuthorizer).
# Every key not listed keeps Cassandra's built-in default (org.apache.cassandra.config.Config).
cluster_name: '{{CLUSTER_NAME}}'

# One token, fixed: no token allocation work, deterministic ring.
num_tokens: 1
initial_token: 0
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
# A single seed node never bootstraps; saying so explicitly skips the bootstrap path.
auto_bootstrap: false

authenticator:
  class_name: org.apache.cassandra.auth.{{AUTHENTICATOR}}
authorizer:
  class_name: org.apache.cassandra.auth.{{AUTHORIZER}}
role_manager:
  class_name: org.apache.cassandra.auth.CassandraRoleManager
network_authorizer:
  class_name: org.apache.cassandra.auth.AllowAllNetworkAuthorizer

data_file_directories:
  - {{DIR}}/data
commitlog_directory: {{DIR}}/commitlog
saved_caches_directory: {{DIR}}/saved_caches
hints_directory: {{DIR}}/hints
cdc_raw_directory: {{DIR}}/cdc_raw

commitlog_sync: periodic
commitlog_sync_period: 10000ms

seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "{{ADDRESS}}:{{STORAGE_PORT}}"

listen_address: {{ADDRESS}}
rpc_address: {{ADDRESS}}
storage_port: {{STORAGE_PORT}}
native_transport_port: {{NATIVE_PORT}}
start_native_transport: true

endpoint_snitch: SimpleSnitch
dynamic_snitch: false
hinted_handoff_enabled: false

# Test data: no snapshot on DROP/TRUNCATE (makes schema resets fast), none before compaction.
auto_snapshot: false
snapshot_before_compaction: false
incremental_backups: false
# 2 cores: leave CPU for the load generator.
concurrent_compactors: 1

disk_failure_policy: stop
commit_failure_policy: stop
