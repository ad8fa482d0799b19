/**
 * Reading a JSON-lines file of the run's history (observations.jsonl, frames.jsonl, …) through its zod schema: the
 * last line may be cut short by a crash and is skipped; any other bad line is an error naming the file and line.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { z } from 'zod';

/** `decode`: the file's bytes to its text's bytes (a gzipped segment: gunzipSync). */
export function readJsonLines<S extends z.ZodType>(path: string, schema: S, fail: (where: string, problem: string | z.ZodError) => Error, decode?: (b: Buffer) => Buffer): z.output<S>[] {
  if (!existsSync(path)) return [];
  const bytes = readFileSync(path);
  const lines = (decode ? decode(bytes) : bytes).toString('utf8').split('\n');
  const out: z.output<S>[] = [];
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      if (i === lines.length - 1) return; // the last line, cut short
      throw fail(`${path}:${i + 1}`, 'not valid JSON');
    }
    const r = schema.safeParse(v);
    if (!r.success) throw fail(`${path}:${i + 1}`, r.error);
    out.push(r.data);
  });
  return out;
}
