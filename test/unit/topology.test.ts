import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { labPorts, boundPorts, DEPENDENCY_NAMES, EPHEMERAL_LOW, SECURECONNECT_SERVICES } from '../../src/topology/topology.js';
import { composeDocument, composeYaml, toxiproxyConfig, toxiproxyConfigJson, SERVICE_PORTS } from '../../src/topology/compose.js';
import { GENERATED_FILES } from '../../src/cli/topology-commands.js';
import { HARNESS_ROOT } from '../../src/lab/paths.js';

describe('port plan', () => {
  it('gives every listener a distinct port below the ephemeral range', () => {
    const p = labPorts(21000);
    const ports = boundPorts(p).map((b) => b.port);
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of [...ports, p.turnRelay.max, p.rtc.max, p.target.max]) expect(port).toBeLessThan(EPHEMERAL_LOW);
    expect(p.turnRelay.max - p.turnRelay.min + 1).toBe(100);
  });

  it('rejects a base port that would run into the ephemeral range, naming the flag', () => {
    expect(() => labPorts(32500)).toThrow(/--base-port/);
    expect(() => labPorts(80)).toThrow(/--base-port/);
  });
});

describe('docker-compose.test.yml', () => {
  it('is exactly what the topology generates (regenerate with: sch topology compose)', () => {
    for (const f of GENERATED_FILES) {
      expect(readFileSync(join(HARNESS_ROOT, f.path), 'utf8'), f.path).toBe(f.render());
    }
  });

  it('parses as YAML with no booleans where compose wants strings', () => {
    const doc = parse(composeYaml(), { version: '1.1' }) as { services: Record<string, { environment?: Record<string, unknown> }> };
    for (const [name, svc] of Object.entries(doc.services)) {
      for (const [k, v] of Object.entries(svc.environment ?? {})) expect(typeof v, `${name}.${k}`).toBe('string');
    }
  });

  it('wires every SecureConnect service to its dependencies through Toxiproxy only', () => {
    const services = composeDocument().services as Record<string, { environment: Record<string, string>; image: string }>;
    for (const svc of SECURECONNECT_SERVICES) {
      const env = services[svc]!.environment;
      expect(services[svc]!.image).toBe(`\${SC_REGISTRY:-secureconnect}/${svc}:\${SC_TAG:-latest}`);
      expect(env.PORT).toBe(String(SERVICE_PORTS[svc]));
      for (const [k, v] of Object.entries(env)) {
        if (/_HOST$|_HOSTS$/.test(k)) expect(v, `${svc}.${k}`).toBe('toxiproxy');
        if (k === 'MINIO_ENDPOINT') expect(v).toBe('toxiproxy:9000');
      }
    }
  });

  it('has a Toxiproxy proxy for every dependency, on its usual port, to the real container', () => {
    const proxies = toxiproxyConfig();
    expect(proxies.map((p) => p.name).sort()).toEqual([...DEPENDENCY_NAMES].sort());
    expect(proxies.find((p) => p.name === 'redis')).toMatchObject({ listen: '0.0.0.0:6379', upstream: 'redis:6379' });
    expect(proxies.find((p) => p.name === 'postgres')).toMatchObject({ listen: '0.0.0.0:26257', upstream: 'cockroachdb:26257' });
    expect(JSON.parse(toxiproxyConfigJson())).toEqual(proxies);
  });

  it('commits no secret: every credential is a required variable', () => {
    const text = composeYaml();
    for (const v of ['REDIS_PASSWORD', 'MINIO_ROOT_PASSWORD', 'TURN_SECRET', 'JWT_SECRET']) expect(text).toContain(`\${${v}:?`);
    expect(text).not.toMatch(/minioadmin|super-secret/);
  });
});
