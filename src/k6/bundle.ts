import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { HARNESS_ROOT } from '../lab/paths.js';

export const SCENARIOS_DIR = join(HARNESS_ROOT, 'scenarios');
export const BUNDLES_DIR = join(HARNESS_ROOT, 'reports', 'runs', '.bundles');

const NAME = /^[a-z0-9][a-z0-9-]*$/;

/** Bad input to a scenario run (unknown scenario or profile, bad URL, unreachable target): nothing was started. */
export class ScenarioInputError extends Error {
  override name = 'ScenarioInputError';
}

/** The scenarios found in scenarios/ (each `<name>.ts`). */
export function listScenarios(dir: string = SCENARIOS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => f.slice(0, -3)).filter((n) => NAME.test(n)).sort();
}

/**
 * Whether a workload's `scenario` names a k6 script file of the user's own (`./my.js`, `/abs/load.ts`)
 * rather than a scenario of scenarios/: it has a path separator or a script extension.
 */
export function isScriptFile(nameOrPath: string): boolean {
  return /[/\\]|\.(m?js|ts)$/.test(nameOrPath);
}

/** A short name for a scenario or script file (run folders, bundle names): `./tests/my-load.js` → `my-load`. */
export function scenarioLabel(nameOrPath: string): string {
  if (!isScriptFile(nameOrPath)) return nameOrPath;
  const b = basename(nameOrPath, extname(nameOrPath)).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return b || 'script';
}

/**
 * The scenario's source path: scenarios/<name>.ts, or a script file (.js / .mjs / .ts, relative to the
 * working directory). A ScenarioInputError naming the scenario or file if there is none.
 */
export function scenarioSource(name: string, dir: string = SCENARIOS_DIR): string {
  if (isScriptFile(name)) {
    const file = resolve(name);
    if (!/\.(m?js|ts)$/.test(file)) throw new ScenarioInputError(`k6 script ${file}: a script is a .js, .mjs or .ts file`);
    if (!existsSync(file)) throw new ScenarioInputError(`k6 script ${file} not found`);
    return file;
  }
  const src = join(dir, `${name}.ts`);
  if (!NAME.test(name) || !existsSync(src)) {
    throw new ScenarioInputError(`unknown scenario "${name}" (known: ${listScenarios(dir).join(', ') || 'none'})`);
  }
  return src;
}

export interface BundleResult {
  /** reports/runs/.bundles/<name>.js */
  path: string;
  /** sha256 of the inputs (every bundled source file + the build options). */
  hash: string;
  /** true when the cached bundle was reused. */
  cached: boolean;
  /** Every source file bundled (absolute): where the script's own metrics are declared (metric-kinds.ts). */
  inputs: string[];
}

// Remote modules (`import … from 'https://jslib.k6.io/…'`, common in k6 users' own scripts) are k6's to fetch.
const BUILD_OPTIONS = { format: 'esm', platform: 'neutral', target: 'es2020', external: ['k6', 'k6/*', 'https://*', 'http://*'] } as const;

/** A workload split over generators (src/experiment/generators.ts): the file setup()'s data is read from, in every generator. */
export const SETUP_DATA_ENV = 'SCH_SETUP_DATA';
/** Set: run setup() alone (one no-op iteration), and write its data to $SCH_SETUP_DATA_OUT. */
export const SETUP_ONLY_ENV = 'SCH_SETUP_ONLY';
export const SETUP_DATA_OUT_ENV = 'SCH_SETUP_DATA_OUT';

/** The environment variable naming the file the bundle's handleSummary writes (set by src/k6/run.ts). */
export const SUMMARY_EXPORT_ENV = 'SCH_SUMMARY_EXPORT';

/**
 * Appended to every bundle: k6's end-of-test summary in its legacy `--summary-export` format (what
 * readSummary reads), written to $SCH_SUMMARY_EXPORT, WITHOUT `setup_data`. k6's own export includes
 * whatever setup() returned, and the scenarios' setup() returns the test accounts' bearer tokens.
 * Without SCH_SUMMARY_EXPORT (a caller passing --summary-export itself) setup_data is deleted from the
 * object k6 exports and k6's default handling goes on. Plain ES2020: it is not bundled.
 */
export const SUMMARY_FOOTER = `
// ---- added by src/k6/bundle.ts: the summary without setup() data (it holds the test accounts' tokens)
export function handleSummary(data) {
  var setupOut = __ENV.${SETUP_DATA_OUT_ENV};
  var setupData = data.setup_data;
  delete data.setup_data;
  var path = __ENV.${SUMMARY_EXPORT_ENV};
  var out = {};
  // A setup-only run (a workload split over generators): what setup() returned, for every generator to read.
  if (setupOut) out[setupOut] = JSON.stringify(setupData === undefined ? null : setupData);
  if (!path) return setupOut ? out : undefined;
  var byName = function (list) {
    if (!Array.isArray(list)) return list || {};
    var o = {};
    for (var i = 0; i < list.length; i++) o[list[i].name] = list[i];
    return o;
  };
  var group = function (g) {
    var groups = byName(g.groups);
    var out = {};
    for (var k in groups) out[k] = group(groups[k]);
    return { name: g.name, path: g.path, id: g.id, groups: out, checks: byName(g.checks) };
  };
  var metrics = {};
  for (var name in data.metrics) {
    var m = data.metrics[name];
    var v = JSON.parse(JSON.stringify(m.values));
    if (m.type === 'rate' && Object.prototype.hasOwnProperty.call(v, 'rate')) { v.value = v.rate; delete v.rate; }
    if (m.thresholds && Object.keys(m.thresholds).length > 0) {
      v.thresholds = {};
      for (var t in m.thresholds) v.thresholds[t] = !m.thresholds[t].ok;
    }
    metrics[name] = v;
  }
  out[path] = JSON.stringify({ root_group: group(data.root_group), metrics: metrics }, null, 4);
  return out;
}
`;

/**
 * The bundle's entry: the scenario (or script) itself, re-exported, with setup() able to run once for a
 * workload split over several k6 instances. k6 runs setup() in every instance (and k6-operator in every
 * runner), which would register accounts and create conversations once per instance; instead a setup-only
 * run ($SCH_SETUP_ONLY) writes what setup() returned, and each instance reads it in its init context
 * ($SCH_SETUP_DATA: open() is only allowed there) and returns it from setup(), so every instance works on
 * the same accounts and conversations. Without those variables the entry behaves exactly as the script.
 */
function entrySource(entry: string, exported: readonly string[]): string {
  const src = JSON.stringify(entry);
  const has = (name: string) => exported.includes(name);
  return [
    `import * as script from ${src};`,
    `export * from ${src};`,
    has('default') ? 'export default script.default;' : '',
    `const shared = __ENV.${SETUP_DATA_ENV} ? JSON.parse(open(__ENV.${SETUP_DATA_ENV})) : undefined;`,
    `export const options = __ENV.${SETUP_ONLY_ENV} ? Object.assign({}, script.options || {}, { scenarios: { sch_setup_only: { executor: 'shared-iterations', exec: 'schSetupOnly', vus: 1, iterations: 1 } }, thresholds: {} }) : (script.options || {});`,
    'export function schSetupOnly() {}',
    has('setup') ? 'export function setup() { return shared !== undefined ? shared : script.setup(); }' : '',
    // teardown() would run once per instance: with shared data, only where setup() ran (the setup-only run skips the load, not teardown).
    has('teardown') ? `export function teardown(data) { if (__ENV.${SETUP_DATA_ENV} && !__ENV.${SETUP_ONLY_ENV}) return; return script.teardown(data); }` : '',
  ].filter(Boolean).join('\n');
}

/**
 * Bundle scenarios/<name>.ts (or a script file of your own) into reports/runs/.bundles/<name>.js for k6
 * (ESM, `k6` and `k6/*` external), reusing the previous bundle when no input changed (hash of every input
 * file, recorded in <name>.json). A script file's bundle is named after the file and a hash of its path.
 */
export async function bundleScenario(name: string, opts: { scenariosDir?: string; outDir?: string } = {}): Promise<BundleResult> {
  const entry = scenarioSource(name, opts.scenariosDir);
  const outDir = opts.outDir ?? BUNDLES_DIR;
  const stem = isScriptFile(name) ? `script-${scenarioLabel(name)}-${createHash('sha256').update(entry).digest('hex').slice(0, 8)}` : name;
  const out = join(outDir, `${stem}.js`);
  const meta = join(outDir, `${stem}.json`);
  if (existsSync(out) && existsSync(meta)) {
    try {
      const prev = JSON.parse(readFileSync(meta, 'utf8')) as { hash?: unknown; inputs?: unknown };
      if (typeof prev.hash === 'string' && Array.isArray(prev.inputs) && prev.inputs.every((p) => typeof p === 'string' && existsSync(p))) {
        if (hashInputs(prev.inputs as string[]) === prev.hash) return { path: out, hash: prev.hash, cached: true, inputs: prev.inputs as string[] };
      }
    } catch {
      /* rebuild */
    }
  }
  const common = { bundle: true, write: false, metafile: true, ...BUILD_OPTIONS, external: [...BUILD_OPTIONS.external], absWorkingDir: HARNESS_ROOT, logLevel: 'silent', legalComments: 'none' } satisfies BuildOptions;
  // First the script alone, for what it exports; then the entry around it (entrySource).
  const plain = await build({ ...common, entryPoints: [entry] });
  const exported = Object.values(plain.metafile.outputs).flatMap((o) => o.exports);
  const r = await build({ ...common, stdin: { contents: entrySource(entry, exported), resolveDir: dirname(entry), sourcefile: 'sch-entry.js', loader: 'js' } });
  const built = r.outputFiles[0]?.text;
  if (built === undefined) throw new Error(`esbuild produced no output for scenario "${name}"`);
  if (exported.includes('handleSummary')) throw new ScenarioInputError(`${isScriptFile(name) ? `k6 script ${entry}` : `scenario "${name}"`} exports handleSummary: the harness adds its own (the summary must not hold setup() data); remove it`);
  const code = `${built}${SUMMARY_FOOTER}`;
  const inputs = Object.keys(r.metafile.inputs).filter((p) => !p.endsWith('sch-entry.js')).map((p) => join(HARNESS_ROOT, p)).sort();
  const hash = hashInputs(inputs);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(`${out}.tmp`, code);
  renameSync(`${out}.tmp`, out);
  writeFileSync(meta, `${JSON.stringify({ hash, inputs }, null, 2)}\n`);
  return { path: out, hash, cached: false, inputs };
}

function hashInputs(files: string[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(BUILD_OPTIONS));
  h.update(SUMMARY_FOOTER);
  h.update(entrySource.toString());
  for (const f of [...files].sort()) {
    h.update(f);
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex');
}
