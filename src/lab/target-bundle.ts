import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { HARNESS_ROOT } from './paths.js';

/** Where the reference target's bundles go: inside the clone, so its node_modules resolve the packages left external. */
export const TARGET_BUNDLE_DIR = join(HARNESS_ROOT, '.cache', 'target');
const ENTRY = join(HARNESS_ROOT, 'fixtures', 'secureconnect', 'target', 'main.ts');

let built: Promise<string> | undefined;

/**
 * The reference target's entry as one JavaScript file (esbuild, packages left to node_modules), built once
 * per process. Each service process then starts in ~0.2 s instead of ~1.2 s of tsx transpiling, which a
 * suite of ~70 target starts feels. The file is named by its content's hash and written by rename, so
 * processes building side by side never read a half-written one and an old bundle is never run.
 */
export function targetEntry(): Promise<string> {
  built ??= (async () => {
    const out = await build({
      entryPoints: [ENTRY], bundle: true, platform: 'node', format: 'esm', target: 'node20',
      packages: 'external', write: false, logLevel: 'silent', sourcemap: 'inline',
    });
    const code = out.outputFiles[0]?.contents;
    if (!code) throw new Error(`esbuild produced no output for ${ENTRY}`);
    const file = join(TARGET_BUNDLE_DIR, `main-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`);
    if (!existsSync(file)) {
      mkdirSync(TARGET_BUNDLE_DIR, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, code);
      renameSync(tmp, file);
      pruneOldBundles(file);
    }
    return file;
  })().catch((e: unknown) => {
    built = undefined;
    throw e;
  });
  return built;
}

/** Bundles of older target sources, a day after their last write (a process of that day may still run one). */
function pruneOldBundles(keep: string): void {
  const dayAgo = Date.now() - 86_400_000;
  for (const f of readdirSync(TARGET_BUNDLE_DIR)) {
    const p = join(TARGET_BUNDLE_DIR, f);
    if (p !== keep && /^main-[0-9a-f]{16}\.mjs$/.test(f) && statSync(p).mtimeMs < dayAgo) rmSync(p, { force: true });
  }
}
