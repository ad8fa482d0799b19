/**
 * `sch k6-operator render`: an experiment's workloads as k6-operator TestRuns (src/k6/operator.ts), checked
 * against the operator's TestRun CRD (src/k6/operator-crd.ts) before anything is written. Nothing is applied:
 * the harness has no cluster; `kubectl apply` is yours.
 */
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { loadExperiment } from '../experiment/load.js';
import { checkHttpUrl, parseParam, type ExternalTargetUrls } from '../experiment/external.js';
import type { DeploymentParams, Experiment } from '../experiment/spec.js';
import { RUNS_DIR } from '../experiment/runner.js';
import { configMapProblems, defaultImage, defaultRunId, DEFAULT_SAMPLES_CLAIM, DEFAULT_SECRET, MAX_PARALLELISM, renderOperator, writeOperatorRender, type OperatorRender } from '../k6/operator.js';
import { CRD_FILE, crdProblem, TestRunValidator } from '../k6/operator-crd.js';
import { countFlag, durationFlag, envFlag, FlagError, outFlag } from './k6-flags.js';
import { redact } from '../util/redact.js';

interface RenderFlags {
  parallelism: number;
  outDir?: string;
  namespace?: string;
  image?: string;
  targetUrl?: string;
  videoUrl?: string;
  param?: Partial<DeploymentParams>;
  duration?: number;
  env?: Record<string, string>;
  out?: string[];
  runId?: string;
  secret: string;
  samplesClaim: string;
  crd?: string;
}

const urlFlag = (flag: string) => (v: string): string => {
  try {
    return checkHttpUrl(flag, v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

function parallelismFlag(v: string): number {
  const n = countFlag(v);
  if (n > MAX_PARALLELISM) throw new InvalidArgumentError(`at most ${MAX_PARALLELISM} (an instance's name is its SC_RUN_ID, kept to 14 characters)`);
  return n;
}

function paramFlag(v: string, prev: Partial<DeploymentParams> = {}): Partial<DeploymentParams> {
  try {
    const [k, value] = parseParam(v);
    return { ...prev, [k]: value };
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** As sch run's -d: the timeline's new length in seconds, 1 s to 24 h. */
function timelineDuration(v: string): number {
  const s = durationFlag(v) / 1000;
  if (s < 1 || s > 24 * 3600) throw new InvalidArgumentError('between 1 s and 24 h');
  return s;
}

/** --target-url replaces the experiment's target; --video-url alone amends one that is already external. */
function externalTarget(e: Experiment, f: RenderFlags): ExternalTargetUrls | null {
  if (f.targetUrl !== undefined) return { baseUrl: f.targetUrl, ...(f.videoUrl ? { videoUrl: f.videoUrl } : {}) };
  if (f.videoUrl === undefined) return null;
  if (e.target.kind !== 'external') throw new FlagError('--video-url applies to an external target: give its gateway with --target-url');
  return { baseUrl: e.target.baseUrl, ...(e.target.toxiproxyUrl ? { toxiproxyUrl: e.target.toxiproxyUrl } : {}), videoUrl: f.videoUrl };
}

/** Every manifest checked: TestRuns against the CRD (when there is one), ConfigMaps by shape. */
function validate(r: OperatorRender, crdFile: string, explicit: boolean): string {
  const problems: string[] = [];
  for (const w of r.workloads) problems.push(...configMapProblems(w.configMap).map((p) => `${w.file}: ConfigMap ${p}`));
  const why = crdProblem(crdFile);
  if (why !== null) {
    if (explicit) throw new FlagError(`--crd ${crdFile}: ${why}`);
    if (problems.length) throw new Error(`rendered manifests are not valid:\n  ${problems.join('\n  ')}`);
    return `not validated against the TestRun CRD: ${why}`;
  }
  const v = new TestRunValidator(crdFile);
  for (const w of r.workloads) problems.push(...v.problems(w.testRun).map((p) => `${w.file}: TestRun ${p}`), ...v.problems(w.setupTestRun).map((p) => `${w.setupFile}: TestRun ${p}`));
  // A render the CRD refuses is the harness's bug, not the user's input: say so, write nothing.
  if (problems.length) throw new Error(`rendered manifests are not valid against ${crdFile}:\n  ${problems.join('\n  ')}`);
  return `validated against the TestRun CRD (${v.crd.apiVersion} ${v.crd.kind}, ${crdFile}): ${r.workloads.length * 2} TestRun(s) (a setup and a load per workload), ${r.workloads.length} ConfigMap(s)`;
}

const shown = (p: string): string => {
  const rel = relative(process.cwd(), p);
  return rel.startsWith('..') ? p : rel;
};

async function render(name: string, f: RenderFlags): Promise<void> {
  const experiment = await loadExperiment(name);
  const runId = f.runId ?? defaultRunId(experiment.name);
  const r = await renderOperator({
    experiment, parallelism: f.parallelism, runId,
    externalTarget: externalTarget(experiment, f),
    ...(f.namespace ? { namespace: f.namespace } : {}),
    ...(f.image ? { image: f.image } : {}),
    ...(f.param ? { params: f.param } : {}),
    ...(f.duration ? { durationS: f.duration } : {}),
    ...(f.env ? { env: f.env } : {}),
    ...(f.out?.length ? { outputs: f.out } : {}),
    secretName: f.secret, samplesClaim: f.samplesClaim,
  });
  const checked = validate(r, f.crd ? resolve(f.crd) : CRD_FILE, f.crd !== undefined);
  const outDir = f.outDir ? resolve(f.outDir) : join(RUNS_DIR, runId, 'k6-operator');
  writeOperatorRender(r, outDir);
  const ns = r.namespace ? ` -n ${r.namespace}` : '';
  const lines = [
    ...r.workloads.map((w) => `wrote ${shown(join(outDir, w.file))}: ConfigMap ${w.configMapName} (${w.bundle.key}, sha256 ${w.bundle.sha256.slice(0, 12)}) + TestRun ${w.testRunName} (${w.scenario}, ${r.parallelism} runner${r.parallelism === 1 ? '' : 's'})`),
    `wrote ${shown(join(outDir, r.samples.file))} (claim ${r.samplesClaim} + reader pod) and ${shown(join(outDir, 'render.json'))}`,
    checked,
    ...(r.notApplied.length ? ['not applied in a cluster run:', ...r.notApplied.map((n) => `  - ${n}`)] : []),
    'next (nothing here was applied: there is no cluster here):',
    ...(f.image ? [] : [`  docker build -f docker/k6-runner.Dockerfile -t <registry>/${defaultImage()} .   # then render again with --image <registry>/${defaultImage()}`]),
    `  kubectl${ns} create secret generic ${r.secretName} --from-literal=…   # optional: credentials the runners need`,
    `  kubectl${ns} apply -f ${shown(join(outDir, r.samples.file))}`,
    // setup() once per workload: its TestRun first, finished, then the load's.
    ...r.workloads.map((w) => `  kubectl${ns} apply -f ${shown(join(outDir, w.setupFile))} && kubectl${ns} wait --for=jsonpath='{.status.stage}'=finished testrun/${w.setupTestRun.metadata.name} --timeout=10m && kubectl${ns} apply -f ${shown(join(outDir, w.file))}`),
    `  samples: ${r.samplesClaim}:/${r.runId}/<workload>/<instance>.csv.gz (README: On Kubernetes)`,
  ];
  process.stdout.write(`${redact(lines.join('\n'))}\n`);
}

export function k6OperatorCommand(): Command {
  const c = new Command('k6-operator').description('run workloads on Kubernetes with the k6-operator (manifests only: nothing is applied)');
  c.command('render')
    .description('write a k6-operator TestRun (+ ConfigMap with the bundle) per workload of an experiment, validated against the TestRun CRD')
    .argument('<experiment>', 'experiment name (see `sch list`) or a .ts/.json/.yaml file')
    .requiredOption('--parallelism <n>', `k6 instances per workload (1 to ${MAX_PARALLELISM}); k6 execution segments split the load between them`, parallelismFlag)
    .option('--target-url <url>', 'the deployment\'s gateway, as the cluster reaches it (required unless the experiment\'s target is external)', urlFlag('--target-url'))
    .option('--video-url <url>', 'the deployment\'s video service (SC_VIDEO_URL of every workload)', urlFlag('--video-url'))
    .option('--param <name=value>', 'a deployment limit the probes are sized by (repeatable): rateLimitPerMinute, wsMaxConnections', paramFlag)
    .option('-d, --duration <time>', 'stretch the timeline to this length, as sch run -d (1 s to 24 h)', timelineDuration)
    .option('-e, --env <KEY=value>', 'k6 environment of every workload (repeatable; over the experiment\'s own); credentials are refused: put them in the Secret', envFlag)
    .option('-o, --out <output>', 'a streamed k6 output for every runner (repeatable), e.g. experimental-prometheus-rw (its K6_PROMETHEUS_RW_* from the Secret)', outFlag)
    .option('--namespace <ns>', 'metadata.namespace of every object (default: none, kubectl\'s current namespace)')
    .option('--image <image>', `the runner image: k6 v2 built with xk6 (docker/k6-runner.Dockerfile; default ${defaultImage()})`)
    .option('--secret <name>', 'the Secret every runner reads credentials from (envFrom, optional: it may not exist)', DEFAULT_SECRET)
    .option('--samples-claim <name>', 'the ReadWriteMany PersistentVolumeClaim the runners write samples to', DEFAULT_SAMPLES_CLAIM)
    .option('--run-id <id>', 'names the samples folder on the volume and, hashed, the TestRuns (default <time>-<experiment>)')
    .option('--out-dir <dir>', `where the manifests go (default ${shown(RUNS_DIR)}/<run-id>/k6-operator)`)
    .option('--crd <file>', `the TestRun CRD to validate against (default ${existsSync(CRD_FILE) ? CRD_FILE : `${CRD_FILE}, when present`})`)
    .addHelpText('after', `
Writes <workload>.yaml (ConfigMap + TestRun), samples.yaml (claim + reader pod) and render.json. Each runner
writes <claim>:/<run-id>/<workload>/<instance>.csv.gz (+ .summary.json, .console.log); the fault timeline stays
with the harness process. Exit 2 for bad input (nothing written).

Example:
  sch k6-operator render soak-chaos --parallelism 3 --target-url http://gateway.sc.svc:8080 --video-url http://video.sc.svc:8081 -d 2h`)
    .action(async (name: string, f: RenderFlags) => render(name, f));
  return c;
}
