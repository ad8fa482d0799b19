import { createHash } from 'node:crypto';
import type { ReferenceProfile } from '../util/profiles.js';

/**
 * nginx's configuration as SecureConnect's public entry, rendered from the profile of the target behind it.
 * `audited` / `as-built`: plain HTTP, no rate limit, no TLS — what the audit found (002 lines 58, 91, 287)
 * and what the real configs/nginx.conf is. `hardened`: TLS with the lab's certificate, plain HTTP redirected
 * to it, and `limit_req` per client address answering 429.
 * Pure: the lab (src/lab/edge.ts) and docker-compose.test.yml (src/topology/compose.ts) both render it.
 */

/** Edge rate limit on hardened: a sustained 10 requests/s per client address, bursts of 20 beyond it. */
export const EDGE_RATE_PER_S = 10;
export const EDGE_BURST = 20;

export interface EdgeUpstream {
  /** host:port of the gateway nginx proxies to. */
  gateway: string;
  profile: ReferenceProfile;
}

export interface EdgeServerOptions {
  /** Address the listeners bind (empty: every address, as in a container). */
  listenAddress: string;
  httpPort: number;
  httpsPort: number;
  /** null: no target behind the edge yet; nginx answers 503 itself. */
  upstream: EdgeUpstream | null;
  /** Certificate and key files; required when the upstream's profile is hardened. */
  tls?: { certFile: string; keyFile: string };
}

const listen = (address: string, port: number, extra = ''): string => `listen ${address ? `${address}:` : ''}${port}${extra};`;

/**
 * The proxy settings: SecureConnect's own nginx.conf sets the same headers. It appends the client to whatever
 * X-Forwarded-For the client sent, and the gateway takes the leftmost entry: any client can name its own address.
 * Hardened, the entry (the first hop) overwrites it with the address it saw.
 */
function proxyLocation(hardened: boolean): string[] {
  return [
    '    location / {',
    '      proxy_pass http://sch_gateway;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Host $host;',
    '      proxy_set_header X-Real-IP $remote_addr;',
    `      proxy_set_header X-Forwarded-For ${hardened ? '$remote_addr' : '$proxy_add_x_forwarded_for'};`,
    '      proxy_set_header X-Forwarded-Proto $scheme;',
    '      proxy_set_header Upgrade $http_upgrade;',
    '      proxy_set_header Connection $connection_upgrade;',
    '      proxy_read_timeout 3600s;',
    '      proxy_send_timeout 3600s;',
    '    }',
  ];
}

/** The http-context part: what a container's conf.d/default.conf holds, and what the lab wraps in its main config. */
export function edgeServers(o: EdgeServerOptions): string {
  const out: string[] = [];
  if (!o.upstream) {
    out.push('server {', `    ${listen(o.listenAddress, o.httpPort)}`, '    location / {', '      default_type text/plain;', '      return 503 "no target behind the edge\\n";', '    }', '}');
    return out.join('\n') + '\n';
  }
  const hardened = o.upstream.profile === 'hardened';
  if (hardened && !o.tls) throw new Error('edge: the hardened profile needs a certificate and key');
  out.push(
    '# Upgrade only what asks for it: WebSockets (chat, signaling) pass, plain requests keep a normal Connection.',
    'map $http_upgrade $connection_upgrade {',
    '  default upgrade;',
    "  '' close;",
    '}',
    'upstream sch_gateway {',
    `  server ${o.upstream.gateway};`,
    '}',
  );
  if (!hardened) {
    out.push('server {', `    ${listen(o.listenAddress, o.httpPort)}`, ...proxyLocation(false), '}');
    return out.join('\n') + '\n';
  }
  out.push(
    `limit_req_zone $binary_remote_addr zone=sch_edge:1m rate=${EDGE_RATE_PER_S}r/s;`,
    'server {',
    `    ${listen(o.listenAddress, o.httpPort)}`,
    '    # Plain HTTP carries nothing: every request is sent to the TLS listener.',
    `    location / { return 301 https://$host:${o.httpsPort}$request_uri; }`,
    '}',
    'server {',
    `    ${listen(o.listenAddress, o.httpsPort, ' ssl')}`,
    `    ssl_certificate ${o.tls!.certFile};`,
    `    ssl_certificate_key ${o.tls!.keyFile};`,
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    `    limit_req zone=sch_edge burst=${EDGE_BURST} nodelay;`,
    '    limit_req_status 429;',
    ...proxyLocation(true),
    '}',
  );
  return out.join('\n') + '\n';
}

export interface EdgeMainOptions extends EdgeServerOptions {
  /** The lab's run folder for this nginx: pid file and temp paths. */
  runDir: string;
  errorLog: string;
  statusPort: number;
  /** The worker user when the master runs as root (the lab's own user: its files are owner-only). */
  user: string | null;
}

/** Identity of a rendered config: the status listener answers it, so a reload is known to have landed. */
export function edgeConfigId(servers: string): string {
  return createHash('sha256').update(servers).digest('hex').slice(0, 16);
}

/** The lab's full nginx.conf: foreground master, everything inside the lab's folders, a status listener. */
export function edgeMainConfig(o: EdgeMainOptions): string {
  const servers = edgeServers(o);
  const id = edgeConfigId(servers);
  const indent = (s: string) => s.trimEnd().split('\n').map((l) => `  ${l}`).join('\n');
  return [
    ...(o.user ? [`user ${o.user};`] : []),
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    `pid ${o.runDir}/nginx.pid;`,
    `error_log ${o.errorLog} warn;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${o.runDir}/client_body;`,
    `  proxy_temp_path ${o.runDir}/proxy;`,
    `  fastcgi_temp_path ${o.runDir}/fastcgi;`,
    `  uwsgi_temp_path ${o.runDir}/uwsgi;`,
    `  scgi_temp_path ${o.runDir}/scgi;`,
    indent(servers),
    '  # The lab reads which config is live here (never part of the public entry).',
    '  server {',
    `    ${listen(o.listenAddress, o.statusPort)}`,
    `    location = /sch-edge { default_type text/plain; return 200 "${id} ${o.upstream ? o.upstream.profile : 'none'}\\n"; }`,
    '    # Requests nginx has handled since it started (stub_status): a workload sent through the entry shows here.',
    '    location = /sch-edge-requests { stub_status; }',
    '  }',
    '}',
    '',
  ].join('\n');
}
