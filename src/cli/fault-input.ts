/**
 * What `sch fault apply` is given, turned into one validated FaultSpec: a named fault with `--param
 * key=value`, or `--spec` (one fault entry as an experiment writes it, JSON or YAML, inline or @file).
 * Every refusal names the flag and the field; the CLI exits 2 on each (FlagError / InvalidArgumentError).
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { parse as parseYaml } from 'yaml';
import { FaultIdSchema, FaultSpecSchema, type FaultSpec } from '../../chaos/spec.js';
import { NAMED_FAULT_NAMES, namedFault } from '../../chaos/named.js';
import { SPEC_KINDS } from '../../chaos/mechanisms.js';
import { describeIssues, didYouMean } from '../experiment/issues.js';
import { FlagError } from './k6-flags.js';

/** `--param key=value` (repeatable): a number when it reads as one (`latencyMs=500`), else the text. */
export function paramFlag(pair: string, prev: Record<string, unknown> = {}): Record<string, unknown> {
  const i = pair.indexOf('=');
  const key = i > 0 ? pair.slice(0, i) : '';
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(key)) throw new InvalidArgumentError(`"${pair}" is not key=value, e.g. --param latencyMs=500`);
  const raw = pair.slice(i + 1);
  const n = Number(raw);
  return { ...prev, [key]: raw.trim() !== '' && Number.isFinite(n) ? n : raw };
}

/** `--id`: it names toxics (`sch-<id>`) and nft chains, so the spec's own alphabet. */
export function faultIdFlag(v: string): string {
  const r = FaultIdSchema.safeParse(v);
  if (!r.success) throw new InvalidArgumentError(r.error.issues[0]?.message ?? 'not a fault id');
  return v;
}

/** `--lab`: the names `sch lab up --name` accepts (a lab name is a directory name: no path tricks). */
export function labNameFlag(v: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,20}$/.test(v)) throw new InvalidArgumentError('1-21 lowercase letters, digits or dashes (as sch lab up --name)');
  return v;
}

export interface ApplyInput {
  /** The named fault given as the argument. */
  fault?: string;
  param?: Record<string, unknown>;
  /** `--spec` text, or `@file`. */
  spec?: string;
  id?: string;
}

/** `{proxyDown:redis}` is YAML for a key "proxyDown:redis" with no value: the first such key, if any. */
function gluedKey(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  for (const [k, x] of Object.entries(v)) {
    if (x === null && /^[A-Za-z_]\w*:\S/.test(k)) return k;
    const inner = gluedKey(x);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

/** The `--spec` value: text or `@file`, JSON or YAML (YAML reads JSON too), a mapping. */
function readSpecText(v: string): Record<string, unknown> {
  let text = v;
  const where = v.startsWith('@') ? `--spec ${v}` : '--spec';
  if (v.startsWith('@')) {
    try {
      text = readFileSync(v.slice(1), 'utf8');
    } catch (e) {
      throw new FlagError(`${where}: cannot read the file: ${(e as Error).message}`);
    }
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (e) {
    throw new FlagError(`${where}: neither JSON nor YAML: ${(e as Error).message.split('\n')[0]?.replace(/:$/, '')}`);
  }
  const glued = gluedKey(value);
  if (glued !== undefined) throw new FlagError(`${where}: "${glued}": YAML needs a space after the colon ("${glued.replace(':', ': ')}")`);
  if (typeof value === 'string' && namedFault(value)) throw new FlagError(`${where}: "${value}" is a named fault: sch fault apply ${value}`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FlagError(`${where}: must be one fault entry as an experiment writes it, e.g. '{proxyDown: redis}' or '{toxic: {proxy: cassandra, type: latency, attributes: {latency: 500}}}'`);
  }
  return value as Record<string, unknown>;
}

/** The id a fault gets when --id is not given: the named fault's name, or `manual-<mechanism>`. */
function defaultId(spec: Record<string, unknown>): string {
  if (typeof spec.fault === 'string') return spec.fault;
  const kind = SPEC_KINDS.find((k) => spec[k.key] !== undefined);
  return `manual-${kind?.mechanism ?? 'fault'}`;
}

function validate(where: string, input: Record<string, unknown>): FaultSpec {
  const r = FaultSpecSchema.safeParse(input);
  if (!r.success) throw new FlagError(describeIssues(where, r.error.issues, FaultSpecSchema, input).join('\n'));
  return r.data;
}

/** The fault spec the flags describe, validated by FaultSpecSchema (a named fault's params by its own schema). */
export function faultSpecFromFlags(f: ApplyInput): FaultSpec {
  if (f.fault !== undefined && f.spec !== undefined) throw new FlagError(`give a named fault or --spec, not both (got ${f.fault} and --spec)`);
  if (f.fault === undefined && f.spec === undefined) throw new FlagError(`give a named fault (${NAMED_FAULT_NAMES.join(', ')}) or --spec '<one fault entry>'`);

  if (f.fault !== undefined) {
    const nf = namedFault(f.fault);
    if (!nf) throw new FlagError(`unknown fault "${f.fault}"${didYouMean(f.fault, NAMED_FAULT_NAMES)} (named faults: ${NAMED_FAULT_NAMES.join(', ')}; one mechanism action: --spec)`);
    const params = f.param ?? {};
    const keys = Object.keys(nf.params.parse({}));
    if (Object.keys(params).length > 0 && keys.length === 0) throw new FlagError(`--param: ${nf.name} takes no parameters (got ${Object.keys(params).join(', ')})`);
    const r = nf.params.safeParse(params);
    if (!r.success) throw new FlagError(describeIssues('--param', r.error.issues, nf.params, params).join('\n'));
    return validate('--param', { id: f.id ?? nf.name, fault: nf.name, ...(Object.keys(params).length ? { params } : {}) });
  }

  if (f.param !== undefined) throw new FlagError('--param sets a named fault\'s parameters; a --spec carries its own values');
  const spec = readSpecText(f.spec!);
  // An experiment's entry may carry its timeline; by hand, the fault is on until cleared or for --duration.
  for (const k of ['startS', 'durationS'] as const) {
    if (spec[k] !== undefined) throw new FlagError(`--spec: ${k}: a fault applied by hand has no timeline; leave ${k} out (--duration <time> holds it for a while, then rolls it back)`);
  }
  if (spec.id !== undefined && f.id !== undefined && spec.id !== f.id) throw new FlagError(`--spec: id: "${String(spec.id)}" disagrees with --id ${f.id}: give one`);
  return validate('--spec', { ...spec, id: f.id ?? spec.id ?? defaultId(spec) });
}
