/**
 * Reading a JSON-lines file of the run's history (observations.jsonl, frames.jsonl, …) through its zod schema: the
 * last line may be cut short by a crash and is skipped; any other bad line is an error naming the file and line.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { constants, createGunzip } from 'node:zlib';
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

/**
 * The same, streamed a line at a time (a long run's file is not held whole), `gz` through gunzip — several members
 * read as one stream, and a member cut short by a kill decompresses as far as it goes (Z_SYNC_FLUSH, no error), its
 * line cut like any last line. Returns the lines taken.
 */
export async function forEachJsonLine<S extends z.ZodType>(path: string, o: { gz: boolean; schema: S; fail: (where: string, problem: string | z.ZodError) => Error }, fn: (v: z.output<S>) => void): Promise<number> {
  const raw = createReadStream(path);
  const input = o.gz ? raw.pipe(createGunzip({ finishFlush: constants.Z_SYNC_FLUSH })) : raw;
  let pending: { line: string; no: number } | null = null;
  let no = 0;
  let n = 0;
  const take = (p: { line: string; no: number }, last: boolean) => {
    let v: unknown;
    try {
      v = JSON.parse(p.line);
    } catch {
      if (last) return;
      throw o.fail(`${path}:${p.no}`, 'not valid JSON');
    }
    const r = o.schema.safeParse(v);
    if (!r.success) throw o.fail(`${path}:${p.no}`, r.error);
    fn(r.data);
    n++;
  };
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    no++;
    if (line.trim() === '') continue;
    if (pending) take(pending, false);
    pending = { line, no };
  }
  if (pending) take(pending, true);
  return n;
}
