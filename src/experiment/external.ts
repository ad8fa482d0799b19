/**
 * Running an experiment against an external deployment (`sch run --target-url`): the experiment's target
 * replaced by `{ kind: 'external', … }`, the knobs only the embedded reference target understands listed as
 * not applied (the manifest's `notApplied`), and the deployment's limits (`params`) recorded as assumed.
 */
import { z } from 'zod';
import { DeploymentParamsSchema, ExternalTargetSchema, type DeploymentParams, type Experiment } from './spec.js';
import { observedServiceNames } from './server-observer.js';
import { selectorsOf } from '../verdicts/kinds/index.js';

export type ExternalTarget = z.output<typeof ExternalTargetSchema>;

/** The external target's addresses as the CLI takes them. */
export interface ExternalTargetUrls {
  baseUrl: string;
  toxiproxyUrl?: string;
  videoUrl?: string;
}

/** Each knob the reference target would take but an external one does not: a note, not an error. */
const REFERENCE_ONLY = '(reference target only)';

/** An http(s) URL, or an error naming `flag`: the harness's targets and Toxiproxy APIs are all HTTP. */
export function checkHttpUrl(flag: string, value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new Error(`${flag} "${value}" is not a URL (e.g. http://198.18.0.2:21590)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${flag} "${value}" is not an http(s) URL`);
  return value;
}

/** `name=value` → one deployment param, validated by DeploymentParamsSchema (errors name the param). */
export function parseParam(pair: string): [keyof DeploymentParams, number] {
  const i = pair.indexOf('=');
  const known = Object.keys(DeploymentParamsSchema.shape) as (keyof DeploymentParams)[];
  if (i <= 0) throw new Error(`"${pair}" is not name=value (names: ${known.join(', ')})`);
  const name = pair.slice(0, i);
  const raw = pair.slice(i + 1).trim();
  if (!(known as string[]).includes(name)) throw new Error(`unknown param "${name}" (known: ${known.join(', ')})`);
  const key = name as keyof DeploymentParams;
  // Number('') is 0 and Number('1e3') is 1000: only plain digits reach the schema.
  const r = /^\d+$/.test(raw) ? DeploymentParamsSchema.shape[key].safeParse(Number(raw)) : null;
  if (!r?.success) throw new Error(`param ${name}: "${raw}" is not a positive integer`);
  return [key, r.data];
}

/** The experiment with these params set (validated again: the result is what the runner sizes probes by). */
export function withParams(e: Experiment, params: Partial<DeploymentParams>): Experiment {
  return { ...e, params: DeploymentParamsSchema.parse({ ...e.params, ...params }) };
}

/** The experiment against this external target (the URLs validated by ExternalTargetSchema). */
export function withExternalTarget(e: Experiment, t: ExternalTargetUrls): Experiment {
  const target = ExternalTargetSchema.parse({ kind: 'external', ...t });
  return { ...e, target };
}

/**
 * What would not reach an external target: the experiment's embedded-only settings (target.env,
 * target.profile, target.services) and the caller's --target-profile / --target-env. One line each, in the
 * manifest's `notApplied`. Empty for an embedded target (everything is applied there).
 */
export function notAppliedKnobs(original: Experiment, external: boolean, o: { profile?: string | undefined; targetEnv?: Record<string, string> | undefined }): string[] {
  if (!external) return [];
  const out: string[] = [];
  if (original.target.kind === 'embedded') {
    out.push(`target.profile=${original.target.profile} ${REFERENCE_ONLY}`);
    if (original.target.services) out.push(`target.services=${original.target.services.join(',')} ${REFERENCE_ONLY}`);
    // Names only: values may be credentials or long lists, and the name says what was meant.
    for (const k of Object.keys(original.target.env)) out.push(`target.env.${k} ${REFERENCE_ONLY}`);
  }
  if (o.profile) out.push(`--target-profile ${o.profile} ${REFERENCE_ONLY}`);
  for (const k of Object.keys(o.targetEnv ?? {})) out.push(`--target-env ${k} ${REFERENCE_ONLY}`);
  return out;
}

/**
 * An external target's services the runner cannot observe (server-observer.ts knows its gateway, and its video service
 * when named): a check of their /metrics or processes has no readings, so it is INCONCLUSIVE, and the report says why.
 */
export function unobservedServices(e: Experiment): string[] {
  if (e.target.kind !== 'external') return [];
  const known = new Set(observedServiceNames(e));
  const named = new Set(e.hypotheses.flatMap((h) => selectorsOf(h)).filter((s) => /^sc_(metrics_up|server|process_)/.test(s.metric) && s.tags?.service !== undefined).map((s) => s.tags!.service!));
  const missing = [...named].filter((s) => !known.has(s));
  return missing.length ? [`server observation of ${missing.join(', ')} (only the gateway's /metrics${known.has('video') ? ' and the video service\'s' : ''} can be reached; their checks are INCONCLUSIVE)`] : [];
}

/** Everything a run against an external target changes, for the runner and the manifest. */
export interface ExternalRun {
  experiment: Experiment;
  /** Manifest `notApplied`: empty when the target is embedded. */
  notApplied: string[];
  /** Manifest `assumedParams`: the deployment's limits the probes were sized by but the harness could not set (external targets). */
  assumedParams?: DeploymentParams;
}

/**
 * Apply `--target-url` (when given) and work out what is not applied. An experiment that is external by
 * itself gets the same notes for the caller's --target-profile / --target-env.
 */
export function externalRun(e: Experiment, o: { externalTarget?: ExternalTargetUrls | undefined; profile?: string | undefined; targetEnv?: Record<string, string> | undefined }): ExternalRun {
  const experiment = o.externalTarget ? withExternalTarget(e, o.externalTarget) : e;
  const external = experiment.target.kind === 'external';
  return {
    experiment,
    notApplied: [...notAppliedKnobs(e, external, o), ...unobservedServices(experiment)],
    ...(external ? { assumedParams: experiment.params } : {}),
  };
}

/** Every address a run would send traffic to (target, Toxiproxy, video service, workloads' `*_URL`), named as the input that gave it. */
export function runDestinations(e: Experiment, flags: { target?: string; toxiproxy?: string; video?: string } = {}): { what: string; url: string }[] {
  const out: { what: string; url: string }[] = [];
  if (e.target.kind === 'external') {
    out.push({ what: flags.target ?? 'target.baseUrl', url: e.target.baseUrl });
    if (e.target.toxiproxyUrl) out.push({ what: flags.toxiproxy ?? 'target.toxiproxyUrl', url: e.target.toxiproxyUrl });
    if (e.target.videoUrl) out.push({ what: flags.video ?? 'target.videoUrl', url: e.target.videoUrl });
  }
  for (const w of e.workloads) {
    if (w.kind !== 'k6') continue;
    for (const [k, v] of Object.entries(w.env)) if (/_URL$/.test(k) && v !== '') out.push({ what: `workloads.${w.id}.env.${k}`, url: v });
  }
  return out;
}

/** The one progress line of a run against an external target (null for an embedded one). */
export function externalNote(r: ExternalRun): string | null {
  if (!r.assumedParams && r.notApplied.length === 0) return null;
  const parts: string[] = [];
  if (r.notApplied.length) parts.push(`not applied ${REFERENCE_ONLY}: ${r.notApplied.map((n) => n.replace(` ${REFERENCE_ONLY}`, '')).join(', ')}`);
  if (r.assumedParams) parts.push(`deployment limits assumed, not set: ${Object.entries(r.assumedParams).map(([k, v]) => `${k}=${v}`).join(', ')} (--param to state yours)`);
  return `external target: ${parts.join('; ')}`;
}
