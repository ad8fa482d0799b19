/**
 * Validation messages that name the exact field and suggest the nearest valid key or value:
 * `durationS` for `duration`, `hypotheses[0].stat` with the statistics it takes, `share` for `shar`.
 * zod says what is wrong; the schema (walked along the issue's path, picking a union's member by the
 * input's discriminator) says what would have been right.
 */
import type { z } from 'zod';

/** Levenshtein distance (two rows): the inputs are field names and enum values, a few dozen characters. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The candidate nearest to `word`, if it is near enough to be a slip: within a third of the word's length
 * (at least 2 edits), or the same word in another case / with a unit suffix (`duration` → `durationS`).
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const l = c.toLowerCase();
    const d = l === w ? 0 : l.startsWith(w) || w.startsWith(l) ? Math.min(1, Math.abs(l.length - w.length)) : editDistance(w, l);
    if (!best || d < best.d) best = { c, d };
  }
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.c : undefined;
}

export const didYouMean = (word: string, candidates: readonly string[]): string => {
  const n = nearest(word, candidates);
  return n ? `; did you mean ${n}?` : '';
};

type Def = { type: string; [k: string]: unknown };
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Past wrappers (optional, default, pipes, lazies) to the schema that decides the shape. */
export function unwrap(s: z.ZodType): z.ZodType {
  for (let i = 0; i < 32; i++) {
    const d = defOf(s);
    if (['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional'].includes(d.type)) s = d.innerType as z.ZodType;
    else if (d.type === 'pipe') s = defOf(d.in as z.ZodType).type === 'transform' ? (d.out as z.ZodType) : (d.in as z.ZodType);
    else if (d.type === 'lazy') s = (d.getter as () => z.ZodType)();
    else return s;
  }
  return s;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A union's member for this input: by the discriminator's value (a missing one picks the first member, the default kind). */
function member(s: z.ZodType, input: unknown): z.ZodType | undefined {
  const d = defOf(s);
  const options = d.options as z.ZodType[];
  const disc = d.discriminator as string | undefined;
  if (disc && isObj(input)) {
    if (input[disc] === undefined) return options[0];
    return options.find((o) => {
      const f = objectShape(o)?.[disc];
      return f !== undefined && f.safeParse(input[disc]).success;
    });
  }
  // A plain union: the member that fails least (its own issues are the useful ones).
  return options.find((o) => o.safeParse(input).success) ?? options.find((o) => defOf(unwrap(o)).type === 'object' && isObj(input)) ?? options[0];
}

function objectShape(s: z.ZodType): Record<string, z.ZodType> | undefined {
  const u = unwrap(s);
  const d = defOf(u);
  if (d.type === 'object') return d.shape as Record<string, z.ZodType>;
  if (d.type === 'union') {
    // A union of objects: every member's keys (for suggesting a key when no member was picked).
    const shapes = (d.options as z.ZodType[]).map(objectShape).filter((x): x is Record<string, z.ZodType> => x !== undefined);
    return shapes.length ? Object.assign({}, ...shapes) as Record<string, z.ZodType> : undefined;
  }
  return undefined;
}

/** The schema (and input) at `path` below `schema`, following the input through unions; undefined when lost. */
export function schemaAt(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): { schema: z.ZodType; input: unknown } | undefined {
  let s: z.ZodType | undefined = schema;
  let v = input;
  for (let i = 0; i <= path.length && s; i++) {
    let u = unwrap(s);
    for (let guard = 0; guard < 8 && defOf(u).type === 'union'; guard++) {
      const m = member(u, v);
      if (!m) return { schema: u, input: v };
      u = unwrap(m);
    }
    if (i === path.length) return { schema: u, input: v };
    const key = path[i]!;
    const d = defOf(u);
    if (d.type === 'object') s = (d.shape as Record<string, z.ZodType>)[String(key)];
    else if (d.type === 'array') s = d.element as z.ZodType;
    else if (d.type === 'record') s = d.valueType as z.ZodType;
    else return undefined;
    v = isObj(v) || Array.isArray(v) ? (v as Record<PropertyKey, unknown>)[key as string] : undefined;
  }
  return undefined;
}

/** `faults[2].params.latencyMs`: the path as an experiment file spells it. */
export function pathText(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '') || '(root)';
}

const valueAt = (input: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>((v, k) => (isObj(v) || Array.isArray(v) ? (v as Record<PropertyKey, unknown>)[k as string] : undefined), input);

/** The values an enum or literal (or a union of them) accepts, for the message and the suggestion. */
function acceptedValues(s: z.ZodType | undefined): string[] | undefined {
  if (!s) return undefined;
  const u = unwrap(s);
  const d = defOf(u);
  if (d.type === 'enum') return Object.values(d.entries as Record<string, string>).map(String);
  if (d.type === 'literal') return (d.values as unknown[]).map(String);
  if (d.type === 'union') {
    const all = (d.options as z.ZodType[]).map(acceptedValues);
    return all.every((x) => x) ? [...new Set(all.flat() as string[])] : undefined;
  }
  return undefined;
}

/** A message a schema wrote itself, not one of zod's defaults. */
const OWN_MESSAGE = (m: string): boolean => !/^(Invalid|Too (small|big)|expected |Unrecognized)/.test(m);

const show = (v: unknown): string => (typeof v === 'string' ? `"${v}"` : JSON.stringify(v) ?? String(v));

/**
 * One line per problem, `<where>: <path>: <message>`: an unknown key is named by its own path with the
 * nearest known key; a bad enum value, a bad discriminator (`kind`) lists the values and the nearest one;
 * a missing field says so.
 */
export function describeIssues(where: string, issues: readonly z.core.$ZodIssue[], schema: z.ZodType, input: unknown, o: { prefix?: readonly PropertyKey[]; aliases?: Readonly<Record<string, string>>; unknownKeyHint?: (path: readonly PropertyKey[], key: string) => string | undefined } = {}): string[] {
  const prefix = o.prefix ?? [];
  const aliases = o.aliases ?? {};
  const suggest = (w: string, choices: readonly string[]) => {
    const n = nearest(w, choices);
    return n ? `; did you mean ${aliases[n] ?? n}?` : '';
  };
  const out: string[] = [];
  const line = (path: readonly PropertyKey[], msg: string) => out.push(`${where}: ${pathText([...prefix, ...path])}: ${msg}`);
  for (const i of issues) {
    const here = valueAt(input, i.path);
    if (i.code === 'unrecognized_keys') {
      const known = Object.keys(objectShape(schemaAt(schema, i.path, input)?.schema ?? schema) ?? {});
      for (const k of i.keys) line([...i.path, k], `unknown field${o.unknownKeyHint?.(i.path, k) ?? suggest(k, known)}${known.length ? ` (fields here: ${known.join(', ')})` : ''}`);
    } else if (OWN_MESSAGE(i.message) && (i.code === 'invalid_type' || i.code === 'invalid_value')) {
      // The schema's own words ("must be a finite number (got "1s")"), with the nearest value of an enum.
      line(i.path, `${i.message}${i.code === 'invalid_value' && typeof here === 'string' ? suggest(here, i.values.map(String)) : ''}`);
    } else if (i.code === 'invalid_value' || (i.code === 'invalid_union' && i.discriminator !== undefined)) {
      // An enum, a literal, or a union's discriminator (`kind: outcome`): name the choices and the nearest.
      const parent = i.code === 'invalid_union' ? schemaAt(schema, i.path.slice(0, -1), input)?.schema : undefined;
      const choices = i.code === 'invalid_value'
        ? (i.values as unknown[]).map(String)
        : parent && defOf(parent).type === 'union'
          ? ((defOf(parent).options as z.ZodType[]).flatMap((m) => acceptedValues(objectShape(m)?.[String(i.path[i.path.length - 1])]) ?? []))
          : acceptedValues(schemaAt(schema, i.path, input)?.schema) ?? [];
      // A schema's own message (e.g. the statistics without their deprecated names) beats the raw list.
      const listed = choices.filter((c) => !Object.hasOwn(aliases, c));
      const what = i.message.startsWith('Invalid') ? `one of ${listed.join(', ')}` : i.message.replace(/^expected /, '');
      if (here === undefined) line(i.path, `missing (${what})`);
      else line(i.path, `${show(here)} is not ${what}${typeof here === 'string' ? suggest(here, choices) : ''}`);
    } else if (i.code === 'invalid_key') {
      // A record's key (a step tag): its own first issue.
      line(i.path, i.issues[0]?.message ?? i.message);
    } else if ((i.code === 'invalid_type' || i.code === 'invalid_union') && here === undefined && i.path.length > 0) {
      line(i.path, `missing: a required field${i.code === 'invalid_type' ? ` (${i.expected})` : i.message.startsWith('expected ') ? ` (${i.message.slice('expected '.length)})` : ''}`);
    } else if (i.message.startsWith('expected ') && here !== undefined) {
      // A schema's own "expected …" (durations, statistics): say what was given.
      line(i.path, `${show(here)} is not ${i.message.slice('expected '.length)}`);
    } else {
      line(i.path, i.message);
    }
  }
  return out;
}
