import { stringify } from 'yaml';
import { DEPENDENCIES, EDGE, SECURECONNECT_SERVICES, SERVICE_DEPENDENCIES, dependency, type DependencyName, type SecureConnectService } from './topology.js';
import { pinnedVersions } from '../lab/paths.js';
import { edgeServers } from '../lab/edge-config.js';

/**
 * docker-compose.test.yml, generated from the same topology as the native lab. Every SecureConnect
 * service reaches its dependencies through Toxiproxy, which listens on each dependency's usual port
 * (the services' defaults keep working) and forwards to the real container.
 */
export const TOXIPROXY_IMAGE = 'ghcr.io/shopify/toxiproxy:2.12.0';
export const TOXIPROXY_CONFIG = 'docker/toxiproxy.json';
export const NGINX_CONFIG = 'docker/nginx.conf';

/** Ports SecureConnect's services listen on (its api-gateway proxies to these). */
export const SERVICE_PORTS: Record<SecureConnectService, number> = {
  'api-gateway': 8080, 'auth-service': 8080, 'chat-service': 8082, 'video-service': 8083, 'storage-service': 8080,
};

/** Secrets come from the user's environment at `docker compose up`; compose refuses to start without them. */
const required = (name: string) => `\${${name}:?set ${name} (see README: Docker path)}`;

export interface ToxiproxyProxyConfig { name: string; listen: string; upstream: string; enabled: boolean }

export function toxiproxyConfig(): ToxiproxyProxyConfig[] {
  return DEPENDENCIES.map((d) => ({ name: d.name, listen: `0.0.0.0:${d.containerPort}`, upstream: `${containerName(d.name)}:${d.containerPort}`, enabled: true }));
}

function containerName(d: DependencyName): string {
  return d === 'postgres' ? 'cockroachdb' : d;
}

function dependencyService(name: DependencyName): Record<string, unknown> {
  const d = dependency(name);
  switch (name) {
    case 'redis':
      return { image: d.image, command: ['redis-server', '--requirepass', required('REDIS_PASSWORD'), '--save', '', '--appendonly', 'no'], healthcheck: { test: ['CMD-SHELL', 'redis-cli -a "$$REDIS_PASSWORD" ping | grep -q PONG'], interval: '5s', retries: 20 }, environment: { REDIS_PASSWORD: required('REDIS_PASSWORD') } };
    case 'postgres':
      // Insecure mode has no passwords; the compose network is the boundary, as in SecureConnect's own compose.
      return { image: d.image, command: ['start-single-node', '--insecure'], healthcheck: { test: ['CMD', 'curl', '-f', 'http://localhost:8080/health?ready=1'], interval: '5s', retries: 30 } };
    case 'cassandra':
      return { image: d.image, environment: { MAX_HEAP_SIZE: '768M', HEAP_NEWSIZE: '128M', CASSANDRA_CLUSTER_NAME: 'sch-test' }, healthcheck: { test: ['CMD-SHELL', "cqlsh -e 'describe cluster'"], interval: '10s', retries: 30 } };
    case 'minio':
      return { image: d.image, command: ['server', '/data'], environment: { MINIO_ROOT_USER: required('MINIO_ROOT_USER'), MINIO_ROOT_PASSWORD: required('MINIO_ROOT_PASSWORD'), MINIO_BROWSER: 'off' }, healthcheck: { test: ['CMD', 'curl', '-f', 'http://localhost:9000/minio/health/live'], interval: '5s', retries: 20 } };
    case 'coturn':
      return { image: d.image, command: ['-n', '--no-cli', '--no-tls', '--no-dtls', '--use-auth-secret', `--static-auth-secret=${required('TURN_SECRET')}`, '--realm=lab.secureconnect.test', '--fingerprint', '--min-port=49160', '--max-port=49259', '--listening-port=3478'] };
    case 'push':
      // The same server the native lab runs (Node's type stripping needs Node 22; the lab bundles it for Node 20).
      return { image: 'node:22-alpine', command: ['node', '--experimental-strip-types', '/srv/push-endpoint.ts'], environment: { PUSH_PORT: String(d.containerPort) }, volumes: ['./src/lab/push-endpoint/server.ts:/srv/push-endpoint.ts:ro'], healthcheck: { test: ['CMD', 'wget', '-qO-', `http://localhost:${d.containerPort}/health`], interval: '5s', retries: 20 } };
  }
}

function secureConnectService(svc: SecureConnectService): Record<string, unknown> {
  const env: Record<string, string> = { ENV: 'production', PORT: String(SERVICE_PORTS[svc]), SERVICE_NAME: svc, JWT_SECRET: required('JWT_SECRET') };
  for (const dep of SERVICE_DEPENDENCIES[svc]) {
    const d = dependency(dep);
    for (const [k, v] of Object.entries(d.targetEnv('toxiproxy', d.containerPort))) {
      env[k] = v.replace(/\$\{([A-Z_]+)\}/g, (_m, n: string) => required(n));
    }
  }
  return {
    image: `\${SC_REGISTRY:-secureconnect}/${svc}:\${SC_TAG:-latest}`,
    environment: env,
    depends_on: ['toxiproxy'],
    ...(svc === 'api-gateway' ? { ports: ['127.0.0.1:8080:8080'] } : {}),
    profiles: ['target'],
  };
}

/** The compose document as an object (also what the testcontainers provider starts). */
export function composeDocument(): Record<string, unknown> {
  const versions = pinnedVersions();
  const services: Record<string, unknown> = {};
  for (const d of DEPENDENCIES) services[containerName(d.name)] = dependencyService(d.name);
  services.toxiproxy = {
    image: TOXIPROXY_IMAGE,
    command: ['-host=0.0.0.0', '-config=/config/toxiproxy.json'],
    volumes: [`./${TOXIPROXY_CONFIG}:/config/toxiproxy.json:ro`],
    // The API on loopback only: the harness drives faults from the host.
    ports: ['127.0.0.1:8474:8474'],
    depends_on: DEPENDENCIES.map((d) => containerName(d.name)),
  };
  for (const svc of SECURECONNECT_SERVICES) services[svc] = secureConnectService(svc);
  services[EDGE.name] = {
    image: EDGE.image,
    volumes: [`./${NGINX_CONFIG}:/etc/nginx/conf.d/default.conf:ro`],
    ports: [`127.0.0.1:${EDGE.hostPort}:${EDGE.containerPort}`],
    depends_on: ['api-gateway'],
    profiles: ['target'],
  };
  services.k6 = {
    image: `grafana/k6:${(versions.K6_VERSION ?? 'latest').replace(/^v/, '')}`,
    profiles: ['load'],
    volumes: ['./reports/runs:/reports', './dist/scenarios:/scenarios:ro'],
    environment: { SC_BASE_URL: 'http://api-gateway:8080' },
  };
  return { name: 'secureconnect-harness', services };
}

export function composeYaml(): string {
  const header = [
    '# GENERATED by `sch topology compose` from src/topology: do not edit by hand (a test compares them).',
    '# Docker users: export REDIS_PASSWORD MINIO_ROOT_USER MINIO_ROOT_PASSWORD TURN_SECRET JWT_SECRET,',
    '# set SC_REGISTRY/SC_TAG to your SecureConnect images, then:',
    '#   docker compose -f docker-compose.test.yml --profile target up -d',
    '',
  ].join('\n');
  // YAML 1.1 output quotes on/off/yes/no, which compose would otherwise read as booleans.
  return header + stringify(composeDocument(), { lineWidth: 0, version: '1.1' });
}

/**
 * nginx in front of SecureConnect's own images: the as-built entry (plain HTTP, no rate limit), as its
 * configs/nginx.conf is; the lab renders the same servers per profile (src/lab/edge-config.ts).
 */
export function nginxConfig(): string {
  return '# GENERATED by `sch topology compose` from src/lab/edge-config.ts: do not edit by hand.\n'
    + edgeServers({ listenAddress: '', httpPort: EDGE.containerPort, httpsPort: 443, upstream: { gateway: `api-gateway:${SERVICE_PORTS['api-gateway']}`, profile: 'as-built' } });
}

/** Files the compose document mounts that the topology generates, by their path in the repository. */
export function generatedMounts(): Record<string, () => string> {
  return { [TOXIPROXY_CONFIG]: toxiproxyConfigJson, [NGINX_CONFIG]: nginxConfig };
}

export function toxiproxyConfigJson(): string {
  return JSON.stringify(toxiproxyConfig(), null, 2) + '\n';
}
