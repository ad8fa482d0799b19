/**
 * The lab's topology: one description of every dependency, its ports, its Toxiproxy proxy and the
 * credentials it needs. Three things are generated from it: the native lab (src/lab), the committed
 * docker-compose.test.yml and the testcontainers provider (src/topology/compose.ts, containers.ts).
 */

export type DependencyName = 'redis' | 'postgres' | 'cassandra' | 'minio' | 'coturn' | 'push';

/** Ports of the native lab. All below Linux's ephemeral range (32768-60999) so nothing collides with client sockets. */
export interface LabPorts {
  toxiproxyApi: number;
  /** The real server's listener, reachable only inside the lab. */
  service: Record<DependencyName, number>;
  /** Toxiproxy's listener in front of each dependency: the only way a target reaches it. */
  proxy: Record<DependencyName, number>;
  cassandraStorage: number;
  /** coturn's relay port range (the audit sizes it at 100 ports). */
  turnRelay: { min: number; max: number };
  /** RTP port range the SFU may use for WebRtcTransports. */
  rtc: { min: number; max: number };
  /** Ports the reference target's services listen on (gateway first). */
  target: { min: number; max: number };
  /**
   * The public entry (nginx): plain HTTP, TLS (hardened only) and a status listener the lab reads to know
   * which config nginx serves.
   */
  edge: { http: number; https: number; status: number };
}

export interface Dependency {
  name: DependencyName;
  /** What the proxy carries and what a client speaks over it. */
  protocol: string;
  /** Official container image for docker-compose / testcontainers. */
  image: string;
  /** The port the official image listens on, and the proxy's port inside the compose network. */
  containerPort: number;
  /** Environment variables of SecureConnect's services that point at this dependency (config.go names). */
  targetEnv: (host: string, port: number) => Record<string, string>;
}

export const MIN_PORT = 1024;
export const EPHEMERAL_LOW = 32768;

/**
 * The public entry in front of the gateway: not a dependency (no Toxiproxy proxy, the target never
 * reaches it), the server clients reach. SecureConnect's own deployment uses nginx (configs/nginx.conf).
 */
export const EDGE = {
  name: 'nginx',
  /** Debian bookworm's nginx is 1.22.1; the official image of the same version. */
  image: 'nginx:1.22.1',
  containerPort: 80,
  /** Where docker-compose.test.yml publishes it on the host. */
  hostPort: 8000,
} as const;

/** Dependencies in start order. Images are pinned by tag. */
export const DEPENDENCIES: readonly Dependency[] = [
  {
    name: 'redis', protocol: 'redis', image: 'redis:7.2-alpine', containerPort: 6379,
    targetEnv: (host, port) => ({ REDIS_HOST: host, REDIS_PORT: String(port), REDIS_PASSWORD: '${REDIS_PASSWORD}' }),
  },
  {
    // CockroachDB speaks the PostgreSQL wire protocol; natively the lab runs PostgreSQL in its place.
    name: 'postgres', protocol: 'postgresql', image: 'cockroachdb/cockroach:v23.1.28', containerPort: 26257,
    targetEnv: (host, port) => ({ DB_HOST: host, DB_PORT: String(port), DB_USER: 'secureconnect', DB_PASSWORD: '${DB_PASSWORD}', DB_NAME: 'secureconnect' }),
  },
  {
    name: 'cassandra', protocol: 'cql', image: 'cassandra:5.0', containerPort: 9042,
    targetEnv: (host, port) => ({ CASSANDRA_HOSTS: host, CASSANDRA_PORT: String(port), CASSANDRA_KEYSPACE: 'secureconnect' }),
  },
  {
    name: 'minio', protocol: 'http (S3)', image: 'minio/minio:RELEASE.2025-09-07T16-13-09Z', containerPort: 9000,
    targetEnv: (host, port) => ({ MINIO_ENDPOINT: `${host}:${port}`, MINIO_ACCESS_KEY: '${MINIO_ROOT_USER}', MINIO_SECRET_KEY: '${MINIO_ROOT_PASSWORD}', MINIO_BUCKET: 'secureconnect' }),
  },
  {
    // Only coturn's TCP listener can sit behind Toxiproxy; UDP faults use nftables in the lab namespace.
    name: 'coturn', protocol: 'turn (tcp)', image: 'coturn/coturn:4.6.3', containerPort: 3478,
    targetEnv: (host, port) => ({ TURN_HOST: host, TURN_PORT: String(port), TURN_SECRET: '${TURN_SECRET}' }),
  },
  {
    // Firebase Cloud Messaging cannot run here: the lab's push endpoint speaks the shape of its HTTP v1 send API
    // (src/lab/push-endpoint/server.ts). FCM_ENDPOINT is the reference target's name for where that API is.
    name: 'push', protocol: 'http (FCM v1 send API)', image: 'node:22-alpine', containerPort: 9099,
    targetEnv: (host, port) => ({ FCM_ENDPOINT: `http://${host}:${port}`, FIREBASE_PROJECT_ID: 'secureconnect-lab' }),
  },
];

export const DEPENDENCY_NAMES: readonly DependencyName[] = DEPENDENCIES.map((d) => d.name);

export function dependency(name: DependencyName): Dependency {
  const d = DEPENDENCIES.find((x) => x.name === name);
  if (!d) throw new Error(`unknown dependency "${name}"`);
  return d;
}

/**
 * Port plan from one base port: toxiproxy API at base, services at base+1.., nginx at base+60..62, proxies at base+101..,
 * TURN relays at base+200..+299, RTC at base+300..+399, target services at base+500..+599.
 */
export function labPorts(basePort = 21000): LabPorts {
  if (!Number.isInteger(basePort) || basePort < MIN_PORT || basePort + 600 >= EPHEMERAL_LOW) {
    throw new Error(`--base-port must be an integer from ${MIN_PORT} to ${EPHEMERAL_LOW - 601} (got ${basePort})`);
  }
  const service = {} as Record<DependencyName, number>;
  const proxy = {} as Record<DependencyName, number>;
  DEPENDENCY_NAMES.forEach((name, i) => {
    service[name] = basePort + 1 + i;
    proxy[name] = basePort + 101 + i;
  });
  return {
    toxiproxyApi: basePort,
    service,
    proxy,
    cassandraStorage: basePort + 50,
    turnRelay: { min: basePort + 200, max: basePort + 299 },
    // 20 ports per reference-target instance (its portBase / 10): a call of 8 on the SFU takes 16 (a send and a receive transport each).
    rtc: { min: basePort + 300, max: basePort + 499 },
    target: { min: basePort + 500, max: basePort + 599 },
    edge: { http: basePort + 60, https: basePort + 61, status: basePort + 62 },
  };
}

/** Every TCP port the lab binds, with its owner, for "port already taken" checks. */
export function boundPorts(ports: LabPorts): { owner: string; port: number }[] {
  const out: { owner: string; port: number }[] = [{ owner: 'toxiproxy', port: ports.toxiproxyApi }];
  for (const name of DEPENDENCY_NAMES) {
    out.push({ owner: name, port: ports.service[name] });
    out.push({ owner: `toxiproxy (${name} proxy)`, port: ports.proxy[name] });
  }
  out.push({ owner: 'cassandra (storage)', port: ports.cassandraStorage });
  out.push({ owner: 'nginx (http)', port: ports.edge.http }, { owner: 'nginx (https)', port: ports.edge.https }, { owner: 'nginx (status)', port: ports.edge.status });
  return out;
}

/** SecureConnect's own services, as in its repository's cmd/ folder. */
export const SECURECONNECT_SERVICES = ['api-gateway', 'auth-service', 'chat-service', 'video-service', 'storage-service'] as const;
export type SecureConnectService = (typeof SECURECONNECT_SERVICES)[number];

/** Which dependencies each SecureConnect service talks to (from its docker-compose and config). */
export const SERVICE_DEPENDENCIES: Record<SecureConnectService, DependencyName[]> = {
  'api-gateway': ['redis'],
  'auth-service': ['postgres', 'redis'],
  'chat-service': ['cassandra', 'redis', 'postgres', 'push'],
  'video-service': ['postgres', 'redis', 'coturn', 'push'],
  'storage-service': ['minio', 'postgres', 'redis'],
};
