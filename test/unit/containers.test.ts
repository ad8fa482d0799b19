import { describe, expect, it } from 'vitest';
import { containerPlan, startContainers } from '../../src/topology/containers.js';
import { generateCredentials } from '../../src/lab/credentials.js';
import { DEPENDENCIES } from '../../src/topology/topology.js';
import { nginxConfig } from '../../src/topology/compose.js';

const credentials = generateCredentials();
const jwtSecret = 'j'.repeat(40);

describe('testcontainers provider', () => {
  it('plans the dependencies and Toxiproxy, with the lab credentials substituted', () => {
    const plan = containerPlan({ credentials, jwtSecret });
    expect(plan.map((p) => p.alias).sort()).toEqual(['cassandra', 'cockroachdb', 'coturn', 'minio', 'push', 'redis', 'toxiproxy']);
    const redis = plan.find((p) => p.alias === 'redis')!;
    expect(redis.command).toContain(credentials.redisPassword);
    expect(plan.find((p) => p.alias === 'minio')!.environment.MINIO_ROOT_PASSWORD).toBe(credentials.minioPassword);
    const tp = plan.find((p) => p.alias === 'toxiproxy')!;
    expect(tp.exposedPorts).toEqual([8474]);
    const cfg = JSON.parse(tp.files[0]!.content) as { name: string }[];
    expect(cfg.map((c) => c.name)).toEqual(DEPENDENCIES.map((d) => d.name));
    for (const p of plan) expect(JSON.stringify(p)).not.toMatch(/\$\{/);
  });

  it('adds SecureConnect services only when asked, pointed at Toxiproxy', () => {
    const plan = containerPlan({ credentials, jwtSecret, withTarget: true });
    const chat = plan.find((p) => p.alias === 'chat-service')!;
    expect(chat.image).toBe('secureconnect/chat-service:latest');
    expect(chat.environment).toMatchObject({ CASSANDRA_HOSTS: 'toxiproxy', REDIS_HOST: 'toxiproxy', REDIS_PASSWORD: credentials.redisPassword, JWT_SECRET: jwtSecret });
    expect(plan.find((p) => p.alias === 'api-gateway')!.exposedPorts).toEqual([8080]);
    // nginx fronts the gateway with the generated as-built config copied in (no checkout needed on the Docker host).
    const nginx = plan.find((p) => p.alias === 'nginx')!;
    expect(nginx.exposedPorts).toEqual([80]);
    expect(nginx.files).toEqual([{ target: '/etc/nginx/conf.d/default.conf', content: nginxConfig() }]);
    expect(nginx.files[0]!.content).toMatch(/server api-gateway:8080;/);
  });

  it('says plainly when no Docker engine is reachable (as on this machine)', async () => {
    const env = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'unix:///nonexistent/docker.sock';
    try {
      await expect(startContainers(containerPlan({ credentials, jwtSecret }))).rejects.toThrow(/no Docker engine reachable/);
    } finally {
      if (env === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = env;
    }
  });
});
