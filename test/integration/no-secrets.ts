import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect } from 'vitest';

/** Every file under `dir` (recursively), with its text (gunzipped when the name ends in .gz). */
export function runFiles(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const raw = readFileSync(p);
        out.push({ path: p, text: (p.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8') });
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * Asserts no file of a run directory (every file, recursively; .gz read unzipped) contains any of `secrets`,
 * and that there were files to read. A failure names the file and the secret's first characters only.
 * Secrets shorter than 8 characters are refused: they would match by chance and prove nothing.
 */
export function expectNoSecrets(dir: string, secrets: readonly string[]): void {
  const short = secrets.filter((s) => s.length < 8);
  expect(short, 'secrets too short to look for').toEqual([]);
  const files = runFiles(dir);
  expect(files.length, `files in ${dir}`).toBeGreaterThan(0);
  const found: string[] = [];
  for (const f of files) {
    for (const s of new Set(secrets)) if (f.text.includes(s)) found.push(`${relative(dir, f.path)} holds ${s.slice(0, 12)}…`);
  }
  expect(found, `secrets on disk under ${dir}`).toEqual([]);
}
