import { describe, expect, it } from 'vitest';
import { edgeConfigId, edgeMainConfig, edgeServers, EDGE_BURST, EDGE_RATE_PER_S } from '../../src/lab/edge-config.js';
import type { ReferenceProfile } from '../../src/util/profiles.js';

const base = { listenAddress: '198.18.0.2', httpPort: 21060, httpsPort: 21061, tls: { certFile: '/lab/run/edge-tls/cert.pem', keyFile: '/lab/run/edge-tls/key.pem' } };
const servers = (profile: ReferenceProfile) => edgeServers({ ...base, upstream: { gateway: '198.18.0.2:21500', profile } });

describe('the public entry (nginx) per profile', () => {
  it('audited and as-built: plain HTTP to the gateway, no rate limit, no TLS (002 lines 58, 91, 287)', () => {
    for (const p of ['audited', 'as-built'] as const) {
      const c = servers(p);
      expect(c).toMatch(/listen 198\.18\.0\.2:21060;/);
      expect(c).toMatch(/proxy_pass http:\/\/sch_gateway;/);
      expect(c).toMatch(/server 198\.18\.0\.2:21500;/);
      expect(c).not.toMatch(/limit_req|ssl|21061/);
    }
  });

  it('hardened: TLS with the lab certificate, plain HTTP redirected, limit_req answering 429', () => {
    const c = servers('hardened');
    expect(c).toMatch(/listen 198\.18\.0\.2:21061 ssl;/);
    expect(c).toMatch(/ssl_certificate \/lab\/run\/edge-tls\/cert\.pem;/);
    expect(c).toMatch(/return 301 https:\/\/\$host:21061\$request_uri;/);
    expect(c).toMatch(new RegExp(`limit_req_zone \\$binary_remote_addr zone=sch_edge:1m rate=${EDGE_RATE_PER_S}r/s;`));
    expect(c).toMatch(new RegExp(`limit_req zone=sch_edge burst=${EDGE_BURST} nodelay;`));
    expect(c).toMatch(/limit_req_status 429;/);
    // The only proxying server is the TLS one.
    expect(c.match(/proxy_pass/g)).toHaveLength(1);
    // The first hop names the client itself: a client-sent X-Forwarded-For is not passed on.
    expect(c).toMatch(/X-Forwarded-For \$remote_addr;/);
    expect(servers('as-built')).toMatch(/X-Forwarded-For \$proxy_add_x_forwarded_for;/);
    expect(() => edgeServers({ ...base, tls: undefined, upstream: { gateway: 'x:1', profile: 'hardened' } })).toThrow(/certificate/);
  });

  it('WebSockets pass on every profile (Upgrade and Connection forwarded)', () => {
    for (const p of ['audited', 'as-built', 'hardened'] as const) {
      expect(servers(p)).toMatch(/proxy_set_header Upgrade \$http_upgrade;\s+proxy_set_header Connection \$connection_upgrade;/);
    }
  });

  it('with no target behind it nginx answers 503 itself; the status listener names the live config', () => {
    const none = edgeServers({ ...base, upstream: null });
    expect(none).toMatch(/return 503/);
    expect(none).not.toMatch(/proxy_pass/);
    const main = edgeMainConfig({ ...base, upstream: { gateway: '198.18.0.2:21500', profile: 'hardened' }, runDir: '/lab/run/nginx', errorLog: '/lab/logs/e.log', statusPort: 21062, user: null });
    expect(main).toContain(`return 200 "${edgeConfigId(servers('hardened'))} hardened\\n"`);
    expect(main).toMatch(/daemon off;/);
    expect(main).not.toMatch(/^user /m);
    expect(edgeConfigId(servers('hardened'))).not.toBe(edgeConfigId(servers('as-built')));
  });
});
