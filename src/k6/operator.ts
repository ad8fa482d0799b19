/**
 * k6-operator manifests for an experiment's workloads (`sch k6-operator render`): per workload, a ConfigMap
 * holding the bundle exactly as the runner bundles it (bundle.ts) with the budgets' thresholds, and a TestRun
 * with `parallelism: N` whose runners get the environment and k6 options the runner would give that
 * workload's k6 (runner.ts → run.ts: profile plan as SC_*, the deployment's limits, `workload=<id>` tag,
 * system tags, summary trend stats). Samples land on a shared volume, one file set per instance:
 * `<claim>/<runId>/<workload>/<instance>.{csv.gz,summary.json,console.log}`.
 *
 * What the operator does with a TestRun shapes the choices here (grafana/k6-operator, pkg/resources/jobs):
 * `arguments` is split at single spaces and, in the initializer, pasted into `sh -c`, so it carries only
 * shell-safe flags; everything else is container environment (k6 reads `K6_*` options from it, and with
 * --include-system-env-vars the scenarios' `__ENV`). Runner jobs are `<name>-1` … `<name>-N`; Kubernetes puts
 * that job name on each pod (label `job-name`), which is how an instance names its files and its SC_RUN_ID.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { pinnedVersions } from '../lab/paths.js';
import { redact } from '../util/redact.js';
import { isLoopbackHost } from '../util/target-address.js';
import { bundleScenario, isScriptFile, scenarioLabel, SETUP_DATA_ENV, SETUP_DATA_OUT_ENV, SETUP_ONLY_ENV, SUMMARY_EXPORT_ENV } from './bundle.js';
import { BUDGETS_FILE, loadBudgets, thresholdSpecs, thresholdsFor } from './budgets.js';
import { loadFlags, scenarioEnv, SYSTEM_TAGS, TREND_STATS } from './run.js';
import { K6_OUTPUT_TYPES } from './outputs.js';
import { metadataProblems } from './operator-crd.js';
import { scaleExperiment } from '../experiment/load.js';
import { externalRun, withParams, type ExternalTargetUrls } from '../experiment/external.js';
import type { DeploymentParams, Experiment } from '../experiment/spec.js';

/** Bad input to a render (a flag, the experiment's target, a secret-looking value): nothing was written. Exit 2. */
export class OperatorInputError extends Error {
  override name = 'OperatorInputError';
}

/**
 * An instance's name, `<testrun>-<index>`, becomes its SC_RUN_ID, which the scenarios build test accounts'
 * usernames from (at most 30 characters, so SC_RUN_ID is at most 14, as the runner keeps it): `sch-` + 6 hex
 * + `-` + up to 3 digits.
 */
export const MAX_PARALLELISM = 999;
/** The image's non-root user (the Dockerfile's), also the pods' fsGroup so it can write to the samples volume. */
export const RUNNER_UID = 12345;
/** Where the samples volume is mounted in a runner; the image has this directory too (the initializer writes there). */
export const SAMPLES_MOUNT = '/samples';
/** Where the operator mounts the script ConfigMap. */
const SCRIPT_MOUNT = '/test';
const OPTIONS_KEY = 'options.json';
/** A ConfigMap holds at most 1 MiB. */
const CONFIGMAP_MAX_BYTES = 1024 * 1024;
const INSTANCE_VAR = 'SC_INSTANCE';
/** On each workload's folder of the samples volume: what setup() returned (the setup TestRun writes it, the runners read it). */
const SETUP_DATA_FILE = 'setup-data.json';
const LABEL_PREFIX = 'secureconnect-harness';
const PART_OF = 'secureconnect-harness';

export const DEFAULT_SAMPLES_CLAIM = 'sch-samples';
export const DEFAULT_SECRET = 'sch-k6-env';
/** The image docker/k6-runner.Dockerfile builds, tagged with the pinned k6 version. */
export function defaultImage(): string {
  return `sch-k6-runner:${pinnedVersions().K6_VERSION ?? 'latest'}`;
}

export interface OperatorRenderOptions {
  experiment: Experiment;
  parallelism: number;
  /** Names the samples' folder on the volume and, hashed, the TestRuns (label value: 63 of [A-Za-z0-9-_.]). */
  runId: string;
  namespace?: string;
  image?: string;
  /** --target-url / --video-url: the deployment the runners load. */
  externalTarget?: ExternalTargetUrls | null;
  params?: Partial<DeploymentParams>;
  /** Stretch the timeline (as sch run -d): the workloads' SC_DURATION. */
  durationS?: number;
  /** -e for every workload, over the experiment's own. */
  env?: Record<string, string>;
  /** -o: k6 outputs streamed from every runner (not files: a file inside a pod is gone with it). */
  outputs?: string[];
  /** The Secret every runner reads its credentials from (envFrom, optional). */
  secretName?: string;
  samplesClaim?: string;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef: { fieldPath: string } };
}

interface ObjectMeta {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ConfigMapManifest {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: ObjectMeta;
  data: Record<string, string>;
}

interface PodConfig {
  image: string;
  metadata: { labels: Record<string, string> };
  env: EnvVar[];
  envFrom?: { secretRef: { name: string; optional: boolean } }[];
  securityContext: { runAsNonRoot: boolean; runAsUser: number; runAsGroup: number; fsGroup?: number };
  volumes?: { name: string; persistentVolumeClaim: { claimName: string } }[];
  volumeMounts?: { name: string; mountPath: string; subPath: string }[];
}

export interface TestRunManifest {
  apiVersion: 'k6.io/v1alpha1';
  kind: 'TestRun';
  metadata: ObjectMeta;
  spec: {
    parallelism: number;
    script: { configMap: { name: string; file: string } };
    arguments: string;
    scuttle: { enabled: 'false' };
    runner: PodConfig;
    initializer: PodConfig;
  };
}

export interface RenderedWorkload {
  id: string;
  scenario: string;
  profile: string;
  testRunName: string;
  configMapName: string;
  /** The file in outDir: the ConfigMap, then the TestRun. */
  file: string;
  bundle: { key: string; path: string; sha256: string; inputsHash: string };
  /** On the volume: `<runId>/<workload>`; each instance writes `<instance>.csv.gz`, `.summary.json`, `.console.log`. */
  samplesDir: string;
  instances: string[];
  configMap: ConfigMapManifest;
  testRun: TestRunManifest;
  /**
   * setup() once for every instance (as the harness's own generators do, bundle.ts): one runner writes what
   * setup() returned to the samples volume; apply it first and let it finish, then the TestRun, whose runners
   * read it. In `<id>.setup.yaml`.
   */
  setupTestRun: TestRunManifest;
  setupFile: string;
}

export interface OperatorRender {
  runId: string;
  experiment: string;
  parallelism: number;
  namespace?: string;
  image: string;
  secretName: string;
  samplesClaim: string;
  target: ExternalTargetUrls;
  workloads: RenderedWorkload[];
  /** The samples volume claim and a pod to copy the files out with (samples.yaml). */
  samples: { file: string; objects: Record<string, unknown>[] };
  /** What the cluster run does not do that `sch run` would (one line each). */
  notApplied: string[];
}

/** ConfigMap shape (the core API has no CRD to validate against): keys are file names, 1 MiB in all. */
export const ConfigMapSchema = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('ConfigMap'),
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }).strict(),
  data: z.record(z.string().regex(/^[-._a-zA-Z0-9]+$/, 'a ConfigMap key: letters, digits, -, _ and .'), z.string()),
}).strict().superRefine((cm, ctx) => {
  const bytes = Object.entries(cm.data).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (bytes > CONFIGMAP_MAX_BYTES) ctx.addIssue({ code: 'custom', path: ['data'], message: `${bytes} bytes: a ConfigMap holds at most 1 MiB` });
});

/** Problems with a ConfigMap (shape, metadata); empty when it is one the API server takes. */
export function configMapProblems(obj: unknown): string[] {
  const r = ConfigMapSchema.safeParse(obj);
  const out = r.success ? [] : r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  const meta = typeof obj === 'object' && obj !== null ? (obj as { metadata?: unknown }).metadata : undefined;
  return [...out, ...metadataProblems(meta, { nameRule: 'subdomain' })];
}

/** Names of variables that hold credentials: they come from the Secret, never from a manifest. */
const CREDENTIAL_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|ACCESS_KEY|API_KEY|PRIVATE_KEY|CREDENTIAL|AUTHORIZATION|BEARER)/i;

/** Why `name=value` must not be written into a manifest, or null. redact.ts decides what looks secret. */
export function credentialProblem(name: string, value: string): string | null {
  if (CREDENTIAL_NAME.test(name)) return 'its name says it is a credential';
  if (redact(value) !== value || redact(`${name}=${value}`) !== `${name}=${value}`) return 'its value looks like a credential';
  return null;
}

/** Kubernetes expands `$(VAR)` in env values and commands and reduces `$$` to `$`: a literal keeps every `$`. */
const literal = (v: string): string => v.replace(/\$/g, '$$$$');

const RUN_ID = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** `sch run`'s run id shape: `<UTC time>-<experiment>`. */
export function defaultRunId(experiment: string, now: Date = new Date()): string {
  return `${now.toISOString().replace(/[:.]/g, '-').replace(/Z$/, '')}-${experiment}`;
}

function checkOptions(o: OperatorRenderOptions): void {
  if (!Number.isInteger(o.parallelism) || o.parallelism < 1 || o.parallelism > MAX_PARALLELISM) {
    throw new OperatorInputError(`--parallelism ${o.parallelism}: a whole number from 1 to ${MAX_PARALLELISM}`);
  }
  if (!RUN_ID.test(o.runId) || o.runId.length > 63) throw new OperatorInputError(`--run-id "${o.runId}": at most 63 of letters, digits, -, _ and . (it is a label value and a folder name)`);
  if (o.namespace !== undefined && !(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(o.namespace) && o.namespace.length <= 63)) throw new OperatorInputError(`--namespace "${o.namespace}": not a Kubernetes namespace name (DNS-1123 label)`);
  for (const [flag, v] of [['--secret', o.secretName], ['--samples-claim', o.samplesClaim]] as const) {
    if (v !== undefined && !(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(v) && v.length <= 253)) throw new OperatorInputError(`${flag} "${v}": not a Kubernetes object name (DNS-1123 subdomain)`);
  }
  if (o.image !== undefined && !/^[^\s$]+$/.test(o.image)) throw new OperatorInputError(`--image "${o.image}": an image reference has no spaces and no $`);
  for (const out of o.outputs ?? []) {
    const type = out.split('=')[0] ?? '';
    if (type === 'cloud') throw new OperatorInputError(`-o ${out}: the k6-operator turns --out cloud into a Grafana Cloud k6 test run with its own token and aggregation; not rendered here (stream to your own backend: ${K6_OUTPUT_TYPES.filter((t) => !['json', 'csv', 'cloud'].includes(t)).join(', ')})`);
    if (type === 'json' || type === 'csv') throw new OperatorInputError(`-o ${out}: a file inside a runner pod is lost with it; every runner already writes its samples to the samples volume (CSV); -o here is for streamed outputs (${K6_OUTPUT_TYPES.filter((t) => !['json', 'csv', 'cloud'].includes(t)).join(', ')})`);
    if (/\s/.test(out)) throw new OperatorInputError(`-o ${out}: the operator splits a TestRun's arguments at spaces; give the output without spaces (its settings as K6_* variables in the Secret)`);
  }
}

/** The target the runners load; an embedded-target experiment needs --target-url (a cluster reaches no lab). */
function clusterTarget(e: Experiment): ExternalTargetUrls {
  if (e.target.kind !== 'external') {
    throw new OperatorInputError(`--target-url: experiment "${e.name}" runs against the embedded reference target, which lives in this machine's lab; a cluster run needs a deployment's URL (--target-url http://gateway.example:8080)`);
  }
  const t = e.target;
  for (const [what, url] of [['--target-url', t.baseUrl], ['--video-url', t.videoUrl]] as const) {
    if (url === undefined) continue;
    const u = new URL(url);
    if (isLoopbackHost(u.hostname)) throw new OperatorInputError(`${what} ${url}: loopback inside a runner pod is the pod itself; give an address the cluster reaches`);
    if (u.username !== '' || u.password !== '') throw new OperatorInputError(`${what}: a URL with credentials in it would be written into the manifests; give the URL without them`);
  }
  return { baseUrl: t.baseUrl, ...(t.toxiproxyUrl ? { toxiproxyUrl: t.toxiproxyUrl } : {}), ...(t.videoUrl ? { videoUrl: t.videoUrl } : {}) };
}

/** A short name per run and workload: its instances' names are their SC_RUN_IDs (MAX_PARALLELISM). */
function testRunName(runId: string, experiment: string, workload: string): string {
  return `sch-${createHash('sha256').update(`${runId}\0${experiment}\0${workload}`).digest('hex').slice(0, 6)}`;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Render the manifests of every workload of `o.experiment` (loaded and preflighted by the caller). Throws
 * OperatorInputError for bad input; bundling errors as bundle.ts throws them.
 */
export async function renderOperator(o: OperatorRenderOptions): Promise<OperatorRender> {
  checkOptions(o);
  const secretName = o.secretName ?? DEFAULT_SECRET;
  const samplesClaim = o.samplesClaim ?? DEFAULT_SAMPLES_CLAIM;
  const image = o.image ?? defaultImage();
  let e = o.params ? withParams(o.experiment, o.params) : o.experiment;
  if (o.durationS !== undefined) e = scaleExperiment(e, o.durationS);
  const ext = externalRun(e, { externalTarget: o.externalTarget ?? undefined });
  e = ext.experiment;
  const target = clusterTarget(e);
  const ns = o.namespace !== undefined ? { namespace: o.namespace } : {};
  const common = { 'app.kubernetes.io/part-of': PART_OF, [`${LABEL_PREFIX}/experiment`]: e.name, [`${LABEL_PREFIX}/run`]: o.runId };

  const notApplied = [...ext.notApplied];
  if (ext.assumedParams) notApplied.push(`deployment limits assumed, not set: ${Object.entries(ext.assumedParams).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  if (e.faults.length) notApplied.push(`faults ${e.faults.map((f) => f.id).join(', ')}: the fault timeline is played by the harness process, not by these manifests (they carry the load only)`);

  const budgets = loadBudgets(BUDGETS_FILE);
  const workloads: RenderedWorkload[] = [];
  if (!e.workloads.some((w) => w.kind === 'k6')) throw new OperatorInputError(`experiment ${e.name} has no k6 workload: nothing for the k6-operator to run (its ${e.workloads.map((w) => w.kind).join(', ')} workloads run with sch run)`);
  for (const w of e.workloads) {
    // Browsers in a cluster are not this render's: a video workload stays with the harness.
    if (w.kind !== 'k6') {
      notApplied.push(`workload ${w.id}: a ${w.kind} workload (browser participants) is not run by the k6-operator; run it with sch run beside the cluster's load`);
      continue;
    }
    if (w.ownSourceAddress || w.sourceAddresses > 1) notApplied.push(`workload ${w.id}: ${w.ownSourceAddress ? 'ownSourceAddress' : `sourceAddresses=${w.sourceAddresses}`} (each runner pod sends from its own pod address, SC_SOURCE_ADDRESSES=1; a cluster's egress NAT may still merge them into one)`);
    const name = testRunName(o.runId, e.name, w.id);
    const configMapName = `${name}-script`;
    const labels = { ...common, [`${LABEL_PREFIX}/workload`]: w.id };

    // The runner's k6 environment for this workload (runner.ts), with what differs in a pod: one address per
    // instance. One SC_RUN_ID for all: setup() runs once (the setup TestRun) and every instance uses its accounts.
    const runnerEnv: Record<string, string> = {
      SC_DURATION: `${e.durationS}s`,
      SC_RUN_ID: name.replace(/[^a-z0-9]/g, ''),
      ...(target.videoUrl ? { SC_VIDEO_URL: target.videoUrl } : {}),
      SC_SOURCE_ADDRESSES: '1',
      SC_RATE_LIMIT_PER_MINUTE: String(e.params.rateLimitPerMinute),
      SC_WS_MAX_CONNECTIONS: String(e.params.wsMaxConnections),
      ...w.env,
      ...(o.env ?? {}),
    };
    const { plan, env: flagEnv } = loadFlags({ name: w.scenario, profile: w.profile, env: runnerEnv });
    const k6Env: Record<string, string> = { ...scenarioEnv(target.baseUrl, w.profile, plan, { ...flagEnv, ...runnerEnv }), [SUMMARY_EXPORT_ENV]: `${SAMPLES_MOUNT}/$(${INSTANCE_VAR}).summary.json` };
    // Values the render itself composes from the instance's name; every other value is literal.
    const expanding = new Set<string>([SUMMARY_EXPORT_ENV, ...(runnerEnv.SC_RUN_ID === `$(${INSTANCE_VAR})` ? ['SC_RUN_ID'] : [])]);
    for (const [k, v] of Object.entries(k6Env)) {
      if (expanding.has(k)) continue;
      const why = credentialProblem(k, v);
      if (why) throw new OperatorInputError(`workload ${w.id}: ${k} is not written into a manifest: ${why}. Put ${k} in the Secret "${secretName}" instead, which every runner reads (envFrom; --secret names another)`);
    }

    const script = isScriptFile(w.scenario);
    const specs = script ? [] : thresholdSpecs(budgets, w.scenario);
    const budgetStats = specs.map((t) => /^(p\([\d.]+\))/.exec(t.expression)?.[1]).filter((x): x is string => x !== undefined);
    // k6 options as environment (K6_*): they beat the scripts' own options as the runner's CLI flags do,
    // and keep `arguments` free of `p(95)`, which the initializer's `sh -c` would choke on.
    const k6Options: Record<string, string> = {
      K6_NO_COLOR: '1',
      K6_SYSTEM_TAGS: SYSTEM_TAGS.join(','),
      K6_SUMMARY_TREND_STATS: [...new Set([...TREND_STATS, ...budgetStats])].join(','),
      K6_CONSOLE_OUTPUT: `${SAMPLES_MOUNT}/$(${INSTANCE_VAR}).console.log`,
    };
    const env: EnvVar[] = [
      // First: later values refer to it. The Job controller labels each pod with its job's name, `<name>-<index>`.
      { name: INSTANCE_VAR, valueFrom: { fieldRef: { fieldPath: "metadata.labels['job-name']" } } },
      ...Object.entries(k6Options).map(([k, v]) => ({ name: k, value: v })),
      ...Object.entries(k6Env).map(([k, v]) => ({ name: k, value: expanding.has(k) ? v : literal(v) })),
    ];

    const bundle = await bundleScenario(w.scenario);
    const code = readFileSync(bundle.path, 'utf8');
    const key = `${scenarioLabel(w.scenario)}.js`;
    const configMap: ConfigMapManifest = {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: configMapName, ...ns, labels, annotations: { [`${LABEL_PREFIX}/bundle-sha256`]: sha256(code), [`${LABEL_PREFIX}/bundle-inputs`]: bundle.hash } },
      data: { [key]: code, [OPTIONS_KEY]: `${JSON.stringify(script ? {} : { thresholds: thresholdsFor(budgets, w.scenario) }, null, 2)}\n` },
    };
    const cmProblems = configMapProblems(configMap);
    if (cmProblems.length) throw new OperatorInputError(`workload ${w.id}: its ConfigMap would be refused: ${cmProblems.join('; ')}`);

    const args = [
      '--no-usage-report', '--no-color',
      // k6 run's default, said out loud so the initializer's `k6 archive` sees the same __ENV as the runners.
      '--include-system-env-vars',
      '--config', `${SCRIPT_MOUNT}/${OPTIONS_KEY}`,
      '--tag', `workload=${w.id}`,
      '--out', `csv=fileName=${SAMPLES_MOUNT}/$(${INSTANCE_VAR}).csv.gz,timeFormat=unix_micro`,
      ...(o.outputs ?? []).flatMap((x) => ['--out', literal(x)]),
    ];
    const security = { runAsNonRoot: true, runAsUser: RUNNER_UID, runAsGroup: RUNNER_UID };
    const setupData = `${SAMPLES_MOUNT}/${SETUP_DATA_FILE}`;
    const testRun: TestRunManifest = {
      apiVersion: 'k6.io/v1alpha1', kind: 'TestRun',
      metadata: { name, ...ns, labels, annotations: { [`${LABEL_PREFIX}/scenario`]: w.scenario, [`${LABEL_PREFIX}/profile`]: w.profile, [`${LABEL_PREFIX}/target`]: target.baseUrl } },
      spec: {
        parallelism: o.parallelism,
        script: { configMap: { name: configMapName, file: key } },
        arguments: args.join(' '),
        // Our image has no scuttle (the Istio sidecar helper): never prefix the command with it.
        scuttle: { enabled: 'false' },
        runner: {
          image, metadata: { labels }, env: [...env, { name: SETUP_DATA_ENV, value: setupData }],
          envFrom: [{ secretRef: { name: secretName, optional: true } }],
          securityContext: { ...security, fsGroup: RUNNER_UID },
          volumes: [{ name: 'samples', persistentVolumeClaim: { claimName: samplesClaim } }],
          // subPath: the kubelet creates <runId>/<workload> on the volume; k6 creates files, never folders.
          volumeMounts: [{ name: 'samples', mountPath: SAMPLES_MOUNT, subPath: `${o.runId}/${w.id}` }],
        },
        // Stated, not inherited: operator versions differ in what the initializer takes from the runner. It only
        // runs `k6 archive` and `k6 inspect`: no credentials, no volume (the image's own /samples takes its console file).
        initializer: { image, metadata: { labels }, env, securityContext: security },
      },
    };
    // The setup-only run: one runner, no load, setup()'s data to the volume (the load's runners read it in their
    // init context; their initializer, which has no volume, never sees the variable).
    const setupName = `${name}-setup`;
    const setupEnv: EnvVar[] = env.map((x) => (x.name === SUMMARY_EXPORT_ENV ? { name: x.name, value: `${SAMPLES_MOUNT}/setup.summary.json` } : x.name === 'K6_CONSOLE_OUTPUT' ? { name: x.name, value: `${SAMPLES_MOUNT}/setup.console.log` } : x));
    const setupOnly: EnvVar[] = [{ name: SETUP_ONLY_ENV, value: '1' }, { name: SETUP_DATA_OUT_ENV, value: setupData }];
    const setupTestRun: TestRunManifest = {
      ...testRun,
      metadata: { ...testRun.metadata, name: setupName },
      spec: {
        ...testRun.spec,
        parallelism: 1,
        arguments: args.filter((a, i) => a !== '--out' && args[i - 1] !== '--out').join(' '),
        runner: { ...testRun.spec.runner, env: [...setupEnv, ...setupOnly] },
        initializer: { ...testRun.spec.initializer, env: [...setupEnv, ...setupOnly] },
      },
    };
    workloads.push({
      id: w.id, scenario: w.scenario, profile: w.profile, testRunName: name, configMapName, file: `${w.id}.yaml`,
      bundle: { key, path: bundle.path, sha256: sha256(code), inputsHash: bundle.hash },
      samplesDir: `${o.runId}/${w.id}`,
      instances: Array.from({ length: o.parallelism }, (_, i) => `${name}-${i + 1}`),
      configMap, testRun, setupTestRun, setupFile: `${w.id}.setup.yaml`,
    });
  }
  if (new Set(workloads.map((w) => w.testRunName)).size !== workloads.length) throw new OperatorInputError(`--run-id ${o.runId}: two workloads hash to one TestRun name; give another run id`);

  return {
    runId: o.runId, experiment: e.name, parallelism: o.parallelism, ...ns, image, secretName, samplesClaim, target,
    workloads, samples: { file: 'samples.yaml', objects: samplesObjects(samplesClaim, o.namespace) }, notApplied,
  };
}

/** The claim every runner writes to (ReadWriteMany: instances run on several nodes) and a pod to copy from. */
function samplesObjects(claim: string, namespace: string | undefined): Record<string, unknown>[] {
  const ns = namespace !== undefined ? { namespace } : {};
  // Shared by every run (each writes its own <runId>/ folder): no run label.
  const labels = { 'app.kubernetes.io/part-of': PART_OF };
  return [
    {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim',
      metadata: { name: claim, ...ns, labels },
      spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '10Gi' } } },
    },
    {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: `${claim}-reader`, ...ns, labels },
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: RUNNER_UID, runAsGroup: RUNNER_UID },
        containers: [{ name: 'reader', image: 'busybox:1.37', command: ['sleep', '86400'], volumeMounts: [{ name: 'samples', mountPath: SAMPLES_MOUNT, readOnly: true }] }],
        volumes: [{ name: 'samples', persistentVolumeClaim: { claimName: claim, readOnly: true } }],
      },
    },
  ];
}

/** YAML documents with a header comment (what wrote them and what they are). */
export function manifestsYaml(header: string, docs: readonly unknown[]): string {
  // No anchors: the runner and the initializer share one env list, written out twice for whoever reads it.
  const body = docs.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
  return `${header.split('\n').map((l) => `# ${l}`.trimEnd()).join('\n')}\n${body}`;
}

/** render.json: where everything went, for whoever collects the samples (one JSON object). */
export function renderSummary(r: OperatorRender): Record<string, unknown> {
  return {
    runId: r.runId, experiment: r.experiment, parallelism: r.parallelism, ...(r.namespace ? { namespace: r.namespace } : {}),
    image: r.image, secret: r.secretName, samplesClaim: r.samplesClaim, target: r.target,
    workloads: r.workloads.map((w) => ({
      id: w.id, scenario: w.scenario, profile: w.profile, file: w.file, testRun: w.testRunName, configMap: w.configMapName,
      setup: { file: w.setupFile, testRun: w.setupTestRun.metadata.name, data: `${w.samplesDir}/${SETUP_DATA_FILE}` },
      bundle: { key: w.bundle.key, sha256: w.bundle.sha256, inputsHash: w.bundle.inputsHash },
      samplesDir: w.samplesDir, instances: w.instances,
      files: { samples: '<instance>.csv.gz', summary: '<instance>.summary.json', console: '<instance>.console.log' },
    })),
    notApplied: r.notApplied,
  };
}

/** Write every file of a render into outDir (created); returns their paths. */
export function writeOperatorRender(r: OperatorRender, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const put = (name: string, text: string) => {
    const path = join(outDir, name);
    writeFileSync(path, text);
    files.push(path);
  };
  for (const w of r.workloads) {
    put(w.setupFile, manifestsYaml(`sch k6-operator render ${r.experiment}: workload ${w.id}'s setup(), once for all its runners. Apply it first (after the ConfigMap in ${w.file}'s first document) and let it finish:\n  kubectl apply -f ${w.setupFile} && kubectl wait --for=jsonpath='{.status.stage}'=finished testrun/${w.setupTestRun.metadata.name} --timeout=10m\nIt writes ${r.samplesClaim}:/${w.samplesDir}/${SETUP_DATA_FILE} (the test accounts' tokens and passwords: delete it after the run).`, [w.configMap, w.setupTestRun]));
    put(w.file, manifestsYaml(`sch k6-operator render ${r.experiment} --parallelism ${r.parallelism}: workload ${w.id} (${w.scenario}, ${w.profile}), run ${r.runId}\nThe ConfigMap holds the bundle and the budgets' thresholds; the TestRun runs it on ${r.parallelism} runner(s).\nSamples: ${r.samplesClaim}:/${w.samplesDir}/<instance>.csv.gz (instances ${w.instances[0]} … ${w.instances.at(-1)}).`, [w.configMap, w.testRun]));
  }
  put(r.samples.file, manifestsYaml(`sch k6-operator render ${r.experiment}: the samples volume every runner writes to, and a pod to copy them out:\n  kubectl cp ${r.namespace ?? '<namespace>'}/${r.samplesClaim}-reader:${SAMPLES_MOUNT}/${r.runId} reports/runs/${r.runId}/cluster\nAn existing ReadWriteMany claim of that name serves as well (skip the claim then).`, r.samples.objects));
  put('render.json', `${JSON.stringify(renderSummary(r), null, 2)}\n`);
  return files;
}
