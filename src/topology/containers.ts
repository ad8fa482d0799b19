import type { LabCredentials } from '../lab/credentials.js';
import { composeDocument, generatedMounts } from './compose.js';
import { EDGE } from './topology.js';

/**
 * The same topology on a Docker host, through testcontainers: for users who have Docker and want the
 * harness to start the dependencies itself. Built in two steps so everything but the Docker call is
 * testable here: `containerPlan` (pure) and `startContainers` (talks to Docker).
 */
export interface ContainerSpec {
  alias: string;
  image: string;
  command: string[];
  environment: Record<string, string>;
  /** Files written into the container before it starts. */
  files: { target: string; content: string }[];
  /** Ports published to the host (the harness needs only Toxiproxy's API and the gateway). */
  exposedPorts: number[];
  waitForHealthcheck: boolean;
}

/** Resolve compose's `${VAR:?…}` references from the lab's credentials. */
function substitute(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Z_]+)(?::[?-][^}]*)?\}/g, (_m, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`containers: no value for \${${name}} (topology references a variable the provider does not set)`);
    return v;
  });
}

export function credentialVars(c: LabCredentials, jwtSecret: string): Record<string, string> {
  return { REDIS_PASSWORD: c.redisPassword, MINIO_ROOT_USER: c.minioUser, MINIO_ROOT_PASSWORD: c.minioPassword, TURN_SECRET: c.turnSecret, JWT_SECRET: jwtSecret, DB_PASSWORD: '', SC_REGISTRY: 'secureconnect', SC_TAG: 'latest' };
}

export interface PlanOptions {
  credentials: LabCredentials;
  jwtSecret: string;
  /** Also start SecureConnect's own services (compose profile "target"); their images must exist. */
  withTarget?: boolean;
}

export function containerPlan(o: PlanOptions): ContainerSpec[] {
  const vars = credentialVars(o.credentials, o.jwtSecret);
  const services = composeDocument().services as Record<string, Record<string, unknown>>;
  const plan: ContainerSpec[] = [];
  const generated = generatedMounts();
  // A mounted file the topology generates is copied in: the provider needs no checkout on the Docker host.
  const filesOf = (volumes: string[]) => volumes.flatMap((v) => {
    const [src, target] = v.split(':');
    const render = src ? generated[src.replace(/^\.\//, '')] : undefined;
    return render && target ? [{ target, content: render() }] : [];
  });
  for (const [alias, svc] of Object.entries(services)) {
    const profiles = (svc.profiles as string[] | undefined) ?? [];
    if (profiles.includes('load')) continue;
    if (profiles.includes('target') && !o.withTarget) continue;
    const env = Object.fromEntries(Object.entries((svc.environment as Record<string, string> | undefined) ?? {}).map(([k, v]) => [k, substitute(v, vars)]));
    const ports = ((svc.ports as string[] | undefined) ?? []).map((p) => Number(p.split(':').pop()));
    plan.push({
      alias,
      image: substitute(String(svc.image), vars),
      command: ((svc.command as string[] | undefined) ?? []).map((c) => substitute(c, vars)),
      environment: env,
      files: filesOf((svc.volumes as string[] | undefined) ?? []),
      exposedPorts: ports,
      waitForHealthcheck: svc.healthcheck !== undefined,
    });
  }
  return plan;
}

export interface StartedTopology {
  toxiproxyUrl: string;
  gatewayUrl: string | null;
  /** nginx in front of the gateway (with the target). */
  edgeUrl: string | null;
  stop(): Promise<void>;
}

/** Start the plan on the Docker host testcontainers finds (DOCKER_HOST etc.). */
export async function startContainers(plan: ContainerSpec[]): Promise<StartedTopology> {
  const { GenericContainer, Network, Wait, getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch (e) {
    throw new Error(`containers: no Docker engine reachable (${(e as Error).message.split('\n')[0]}); use the native lab (sch lab up) or set DOCKER_HOST`);
  }
  const network = await new Network().start();
  const started: { alias: string; c: Awaited<ReturnType<InstanceType<typeof GenericContainer>['start']>> }[] = [];
  try {
    for (const s of plan) {
      let gc = new GenericContainer(s.image).withNetwork(network).withNetworkAliases(s.alias).withEnvironment(s.environment);
      if (s.command.length) gc = gc.withCommand(s.command);
      if (s.files.length) gc = gc.withCopyContentToContainer(s.files.map((f) => ({ content: f.content, target: f.target })));
      if (s.exposedPorts.length) gc = gc.withExposedPorts(...s.exposedPorts);
      if (s.waitForHealthcheck) gc = gc.withWaitStrategy(Wait.forHealthCheck());
      started.push({ alias: s.alias, c: await gc.start() });
    }
  } catch (e) {
    for (const { c } of started.reverse()) await c.stop().catch(() => undefined);
    await network.stop().catch(() => undefined);
    throw e;
  }
  const tp = started.find((s) => s.alias === 'toxiproxy')!.c;
  const gw = started.find((s) => s.alias === 'api-gateway')?.c;
  const edge = started.find((s) => s.alias === EDGE.name)?.c;
  return {
    toxiproxyUrl: `http://${tp.getHost()}:${tp.getMappedPort(8474)}`,
    gatewayUrl: gw ? `http://${gw.getHost()}:${gw.getMappedPort(8080)}` : null,
    edgeUrl: edge ? `http://${edge.getHost()}:${edge.getMappedPort(EDGE.containerPort)}` : null,
    async stop() {
      for (const { c } of started.reverse()) await c.stop().catch(() => undefined);
      await network.stop().catch(() => undefined);
    },
  };
}
