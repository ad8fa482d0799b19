import { describe, expect, it, type TestContext } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { listExperiments, loadExperiment } from '../../src/experiment/load.js';
import { bundleScenario } from '../../src/k6/bundle.js';
import { loadBudgets, thresholdsFor, BUDGETS_FILE } from '../../src/k6/budgets.js';
import { planFor, SYSTEM_TAGS, TREND_STATS } from '../../src/k6/run.js';
import { registerSecret, redact } from '../../src/util/redact.js';
import { configMapProblems, MAX_PARALLELISM, OperatorInputError, renderOperator, writeOperatorRender, type OperatorRender, type TestRunManifest } from '../../src/k6/operator.js';
import { crdProblem, TestRunValidator } from '../../src/k6/operator-crd.js';
import type { Experiment } from '../../src/experiment/spec.js';

/**
 * `sch k6-operator render`: the manifests of every shipped experiment against the operator's TestRun CRD
 * (../shared/k6-operator/; skipped with the reason where absent), the bundle the runner uses, the runner's
 * environment, no credentials in the output, and bad input refused with exit 2 naming the flag. No cluster:
 * nothing is applied.
 */
const TARGET = { baseUrl: 'http://gateway.sc.svc:8080', videoUrl: 'http://video.sc.svc:8081' };
const SCH = join(HARNESS_ROOT, 'bin', 'sch');

function skipWithoutCrd(ctx: TestContext, what: string): void {
  const problem = crdProblem();
  if (problem === null) return;
  process.stderr.write(`[skipped] ${what}: ${problem}\n`);
  ctx.skip(`${what}: ${problem}`);
}

async function render(name: string, extra: Partial<Parameters<typeof renderOperator>[0]> = {}): Promise<OperatorRender> {
  return renderOperator({ experiment: await loadExperiment(name), parallelism: 3, runId: 'unit-run', externalTarget: TARGET, ...extra });
}

/** What `kubectl apply -f` reads: every document of every file written. */
function writtenDocs(r: OperatorRender): { file: string; text: string; docs: Record<string, unknown>[] }[] {
  const dir = mkdtempSync(join(tmpdir(), 'sch-k6op-'));
  writeOperatorRender(r, dir);
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => {
    const text = readFileSync(join(dir, f), 'utf8');
    return { file: f, text, docs: parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>) };
  });
}

/** One compiled CRD schema for the file (compiling it takes most of a second). */
let compiled: TestRunValidator | undefined;
const crdValidator = (): TestRunValidator => (compiled ??= new TestRunValidator());

const envOf = (t: TestRunManifest): Record<string, string> => Object.fromEntries(t.spec.runner.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/** The shipped experiments with a k6 workload (a browser-only one has no manifest). */
async function k6Experiments(): Promise<string[]> {
  const out: string[] = [];
  for (const n of listExperiments()) if ((await loadExperiment(n)).workloads.some((w) => w.kind === 'k6')) out.push(n);
  return out;
}

describe('every shipped experiment renders valid k6-operator manifests', () => {
  it('there are shipped experiments to render', () => {
    expect(listExperiments().length).toBeGreaterThan(0);
  });

  it.for(listExperiments())('%s: each TestRun as written validates against the CRD, each ConfigMap has a ConfigMap\'s shape', async (name, ctx) => {
    skipWithoutCrd(ctx, `TestRun CRD validation of ${name}`);
    const v = crdValidator();
    const e = await loadExperiment(name);
    const k6 = e.workloads.filter((w) => w.kind === 'k6');
    // Browser participants stay with sch run: an experiment of only those has nothing to render.
    if (k6.length === 0) {
      await expect(render(name)).rejects.toThrow(/has no k6 workload: nothing for the k6-operator/);
      return;
    }
    const r = await render(name);
    expect(r.workloads.map((w) => w.id)).toEqual(k6.map((w) => w.id));
    let testRuns = 0;
    for (const f of writtenDocs(r)) {
      for (const doc of f.docs) {
        if (doc.kind === 'TestRun') {
          testRuns++;
          expect(v.problems(doc), `${f.file}`).toEqual([]);
          expect(doc.apiVersion).toBe(v.crd.apiVersion);
          // The load on 3 runners; setup() once, on one (its own file, applied first).
          expect((doc.spec as { parallelism: number }).parallelism).toBe(f.file.endsWith('.setup.yaml') ? 1 : 3);
        } else if (doc.kind === 'ConfigMap') expect(configMapProblems(doc), f.file).toEqual([]);
        else expect(['PersistentVolumeClaim', 'Pod']).toContain(doc.kind);
      }
    }
    expect(testRuns).toBe(2 * k6.length);
  });

  it('the validator is as strict as the API server: a misspelt field, a wrong type, a missing name, a bad name are each named', async (ctx) => {
    skipWithoutCrd(ctx, 'TestRun CRD validation');
    const v = crdValidator();
    const good = (await render('baseline')).workloads[0]!.testRun;
    const bad = structuredClone(good) as unknown as { metadata: { name: string }; spec: Record<string, unknown> & { runner: Record<string, unknown>; script: { configMap: Record<string, unknown> } } };
    bad.spec.paralelism = 2;
    bad.spec.runner.volumeMount = [];
    bad.spec.script.configMap = { file: 'probes.js' };
    bad.spec.parallelism = '3';
    bad.metadata.name = 'Not_A_Label';
    const problems = v.problems(bad).join('\n');
    expect(problems).toMatch(/spec: unknown field "paralelism"/);
    expect(problems).toMatch(/spec\.runner: unknown field "volumeMount"/);
    expect(problems).toMatch(/spec\.script\.configMap: must have required property 'name'/);
    expect(problems).toMatch(/spec\.parallelism: must be integer/);
    expect(problems).toMatch(/metadata\.name "Not_A_Label"/);
    expect(v.problems({ ...good, apiVersion: 'k6.io/v1' }).join()).toMatch(/apiVersion/);
  });

  it('the ConfigMap check refuses a key no file can have and a bundle over 1 MiB', async () => {
    const cm = (await render('baseline')).workloads[0]!.configMap;
    expect(configMapProblems({ ...cm, data: { 'a/b.js': 'x' } }).join()).toMatch(/data\.a\/b\.js/);
    expect(configMapProblems({ ...cm, data: { 'big.js': 'x'.repeat(1024 * 1024 + 1) } }).join()).toMatch(/at most 1 MiB/);
    expect(configMapProblems({ ...cm, metadata: { ...cm.metadata, name: '' } }).join()).toMatch(/metadata\.name/);
  });
});

describe('what the runners run is what the runner runs', () => {
  it('the bundle in each ConfigMap is the bundle the runner gives k6 (same bytes, same input hash)', async () => {
    const r = await render('soak-chaos');
    for (const w of r.workloads) {
      const runners = await bundleScenario(w.scenario);
      const inMap = w.configMap.data[w.testRun.spec.script.configMap.file];
      expect(inMap, w.id).toBeDefined();
      expect(sha256(inMap!)).toBe(sha256(readFileSync(runners.path)));
      expect(w.configMap.metadata.annotations?.['secureconnect-harness/bundle-sha256']).toBe(sha256(readFileSync(runners.path)));
      expect(w.configMap.metadata.annotations?.['secureconnect-harness/bundle-inputs']).toBe(runners.hash);
    }
    // And as written to disk and read back by a YAML parser (kubectl's view).
    const chat = writtenDocs(r).find((f) => f.file === 'chat.yaml')!;
    const cm = chat.docs.find((d) => d.kind === 'ConfigMap') as { data: Record<string, string> };
    expect(sha256(cm.data['chat-fanout.js']!)).toBe(sha256(readFileSync((await bundleScenario('chat-fanout')).path)));
  });

  it('each workload gets the runner\'s environment, thresholds, tags and k6 options; setup() once (its own TestRun), sample files per instance', async () => {
    const e = await loadExperiment('soak-chaos');
    const r = await render('soak-chaos');
    const budgets = loadBudgets(BUDGETS_FILE);
    for (const w of r.workloads) {
      const spec = e.workloads.find((x) => x.id === w.id)!;
      if (spec.kind !== 'k6') throw new Error(`${w.id}: a ${spec.kind} workload has no manifest`);
      const env = envOf(w.testRun);
      expect(env.SC_BASE_URL).toBe(TARGET.baseUrl);
      expect(env.SC_VIDEO_URL).toBe(TARGET.videoUrl);
      expect(env.SC_DURATION).toBe(`${e.durationS}s`);
      expect(env.SC_STAGES).toBe(JSON.stringify(planFor(spec.profile).stages));
      expect(env.SC_RATE_LIMIT_PER_MINUTE).toBe(String(e.params.rateLimitPerMinute));
      expect(env.SC_WS_MAX_CONNECTIONS).toBe(String(e.params.wsMaxConnections));
      expect(env.SC_SOURCE_ADDRESSES).toBe('1');
      for (const [k, val] of Object.entries(spec.env)) expect(env[k], `${w.id} ${k}`).toBe(val);
      // One run id for every instance: they share the accounts setup() made once.
      expect(env.SC_RUN_ID).toBe(w.testRunName.replace(/[^a-z0-9]/g, ''));
      expect(env.SCH_SETUP_DATA).toBe('/samples/setup-data.json');
      const initEnv = Object.fromEntries(w.testRun.spec.initializer.env.map((x) => [x.name, 'value' in x ? x.value : undefined]));
      expect(initEnv.SCH_SETUP_DATA, 'the initializer has no volume: it must not read the setup data').toBeUndefined();
      const setupEnv = envOf(w.setupTestRun);
      expect(setupEnv).toMatchObject({ SCH_SETUP_ONLY: '1', SCH_SETUP_DATA_OUT: '/samples/setup-data.json', SC_RUN_ID: env.SC_RUN_ID, SCH_SUMMARY_EXPORT: '/samples/setup.summary.json' });
      expect(w.setupTestRun.spec.parallelism).toBe(1);
      expect(w.setupTestRun.spec.arguments).not.toContain('--out');
      expect(w.setupTestRun.spec.runner.volumeMounts).toEqual(w.testRun.spec.runner.volumeMounts);
      expect(w.testRun.spec.runner.env[0]).toEqual({ name: 'SC_INSTANCE', valueFrom: { fieldRef: { fieldPath: "metadata.labels['job-name']" } } });
      expect(env.K6_SYSTEM_TAGS).toBe(SYSTEM_TAGS.join(','));
      expect(env.K6_SUMMARY_TREND_STATS!.split(',')).toEqual(expect.arrayContaining(TREND_STATS));
      expect(env.SCH_SUMMARY_EXPORT).toBe('/samples/$(SC_INSTANCE).summary.json');
      expect(JSON.parse(w.configMap.data['options.json']!)).toEqual({ thresholds: thresholdsFor(budgets, spec.scenario) });
      expect(w.testRun.spec.arguments).toContain(`--tag workload=${w.id}`);
      expect(w.testRun.spec.arguments).toContain('--out csv=fileName=/samples/$(SC_INSTANCE).csv.gz,timeFormat=unix_micro');
      expect(w.testRun.spec.runner.volumeMounts).toEqual([{ name: 'samples', mountPath: '/samples', subPath: `unit-run/${w.id}` }]);
      expect(w.instances).toEqual([1, 2, 3].map((i) => `${w.testRunName}-${i}`));
    }
  });

  it('an instance name stays within 14 characters at the largest parallelism', async () => {
    const r = await render('baseline', { parallelism: MAX_PARALLELISM });
    expect(r.workloads[0]!.instances.at(-1)!.length).toBeLessThanOrEqual(14);
    await expect(render('baseline', { parallelism: MAX_PARALLELISM + 1 })).rejects.toThrow(/--parallelism/);
    await expect(render('baseline', { parallelism: 0 })).rejects.toThrow(OperatorInputError);
  });

  it('arguments survive the operator: no spaces inside a value, and what reaches the initializer\'s `sh -c` is shell-safe', async () => {
    for (const name of await k6Experiments()) {
      for (const w of (await render(name)).workloads) {
        const args = w.testRun.spec.arguments.split(' ');
        expect(args.every((a) => a !== ''), name).toBe(true);
        // The operator's ParseCLI drops --out and its value before `k6 archive`; the rest goes through sh -c.
        const archived = args.filter((a, i) => a !== '--out' && args[i - 1] !== '--out');
        for (const a of archived) expect(a, `${name}/${w.id}`).toMatch(/^[A-Za-z0-9_./=,:-]+$/);
      }
    }
  });
});

describe('no credentials in a manifest', () => {
  it('nothing written looks like a secret (src/util/redact.ts), bundles aside; credentials come from a Secret reference', async () => {
    for (const name of await k6Experiments()) {
      const r = await render(name);
      for (const f of writtenDocs(r)) {
        for (const doc of f.docs) {
          // The bundle is the project's own code (it handles tokens by name); its bytes are checked above.
          const scrubbed = doc.kind === 'ConfigMap' ? { ...doc, data: { 'options.json': (doc.data as Record<string, string>)['options.json'] } } : doc;
          const text = JSON.stringify(scrubbed);
          expect(redact(text), `${name} ${f.file}`).toBe(text);
        }
      }
      for (const w of r.workloads) expect(w.testRun.spec.runner.envFrom).toEqual([{ secretRef: { name: 'sch-k6-env', optional: true } }]);
    }
  });

  it('a credential given by name, by value, or a lab secret is refused, naming the variable and the Secret', async () => {
    await expect(render('baseline', { env: { SC_API_TOKEN: 'abc123def456' } })).rejects.toThrow(/SC_API_TOKEN is not written into a manifest.*Secret "sch-k6-env"/);
    await expect(render('baseline', { env: { SC_AUTH: 'Bearer abcdefghijkl' } })).rejects.toThrow(/SC_AUTH.*looks like a credential/);
    const labSecret = 'labPw-9f8e7d6c5b4a';
    registerSecret(labSecret);
    const e: Experiment = { ...(await loadExperiment('baseline')) };
    e.workloads = e.workloads.map((w) => (w.kind === 'k6' ? { ...w, env: { ...w.env, SC_REDIS_HINT: labSecret } } : w));
    await expect(renderOperator({ experiment: e, parallelism: 2, runId: 'unit-run', externalTarget: TARGET })).rejects.toThrow(/SC_REDIS_HINT/);
  });
});

describe('bad input', () => {
  it('an embedded-target experiment without --target-url, a loopback target, and a file output are refused', async () => {
    const e = await loadExperiment('baseline');
    await expect(renderOperator({ experiment: e, parallelism: 2, runId: 'unit-run' })).rejects.toThrow(/--target-url.*needs a deployment's URL/);
    await expect(render('baseline', { externalTarget: { baseUrl: 'http://127.0.0.1:8080' } })).rejects.toThrow(/--target-url .*loopback/);
    await expect(render('baseline', { outputs: ['json=/tmp/x.json'] })).rejects.toThrow(/-o json=/);
  });
});

function sch(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const c = spawn(SCH, args, { cwd: tmpdir(), env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('exit', (code) => done({ code, out, err }));
  });
}

describe('sch k6-operator render (the CLI)', () => {
  it('bad input exits 2 naming the flag or the experiment, and writes nothing', { timeout: 60_000 }, async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sch-k6op-cli-')), 'out');
    const cases: [string[], RegExp][] = [
      [['nope-experiment', '--parallelism', '2', '--target-url', TARGET.baseUrl], /unknown experiment "nope-experiment"/],
      [['baseline', '--parallelism', '0', '--target-url', TARGET.baseUrl], /--parallelism/],
      [['baseline', '--target-url', TARGET.baseUrl], /required option '--parallelism/],
      [['baseline', '--parallelism', '2'], /--target-url: .*a cluster run needs a deployment's URL/],
    ];
    const results = await Promise.all(cases.map(([args]) => sch(['k6-operator', 'render', ...args, '--out-dir', dir])));
    results.forEach((res, i) => {
      expect(res.code, res.err).toBe(2);
      expect(res.err).toMatch(cases[i]![1]);
    });
    expect(existsSync(dir)).toBe(false);
  });

  it('a good render writes the manifests and says whether they were validated against the CRD', { timeout: 60_000 }, async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sch-k6op-cli-')), 'out');
    const res = await sch(['k6-operator', 'render', 'cassandra-slow', '--parallelism', '4', '--target-url', TARGET.baseUrl, '--run-id', 'cli-run', '--namespace', 'load', '--out-dir', dir]);
    expect(res.code, res.err).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['probes.setup.yaml', 'probes.yaml', 'render.json', 'samples.yaml']);
    // setup() first, finished, then the load.
    expect(res.out).toMatch(/apply -f \S*probes\.setup\.yaml && kubectl -n load wait --for=jsonpath='\{\.status\.stage\}'=finished testrun\/sch-[0-9a-f]{6}-setup --timeout=10m && kubectl -n load apply -f \S*probes\.yaml/);
    expect(res.out).toMatch(crdProblem() === null ? /validated against the TestRun CRD \(k6\.io\/v1alpha1 TestRun/ : /not validated against the TestRun CRD/);
    expect(res.out).toMatch(/nothing here was applied/);
    const summary = JSON.parse(readFileSync(join(dir, 'render.json'), 'utf8')) as { workloads: { samplesDir: string; instances: string[] }[]; namespace: string };
    expect(summary.namespace).toBe('load');
    expect(summary.workloads[0]!.samplesDir).toBe('cli-run/probes');
    expect(summary.workloads[0]!.instances).toHaveLength(4);
  });

  it('--crd naming a missing file is bad input', { timeout: 30_000 }, async () => {
    const res = await sch(['k6-operator', 'render', 'baseline', '--parallelism', '1', '--target-url', TARGET.baseUrl, '--crd', '/nonexistent/crd.yaml', '--out-dir', join(tmpdir(), 'sch-k6op-never')]);
    expect(res.code).toBe(2);
    expect(res.err).toMatch(/--crd \/nonexistent\/crd\.yaml/);
    expect(existsSync(join(tmpdir(), 'sch-k6op-never'))).toBe(false);
  });
});
