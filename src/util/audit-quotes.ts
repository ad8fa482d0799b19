import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HARNESS_ROOT } from '../lab/paths.js';

export interface AuditSource {
  file: string;
  line: number;
  quote: string;
}

/**
 * Where the audits quoted by budgets and claims live by default: SecureConnect's documents beside the
 * clone (`<repository>/../shared/secureconnect`), whatever the current directory. Not part of the
 * repository: a clone without them has no quote checks (reported skipped, see auditDirProblem).
 */
export const DEFAULT_AUDIT_DIR = join(HARNESS_ROOT, '..', 'shared', 'secureconnect');

let chosen: string | undefined;

/** Set the audit directory for this process (the CLI's global `--audit-dir`); undefined goes back to SC_AUDIT_DIR / the default. */
export function setAuditDir(dir: string | undefined): void {
  chosen = dir === undefined ? undefined : resolve(dir);
}

/** The audit directory: `--audit-dir` (setAuditDir), else SC_AUDIT_DIR (relative to the current directory), else DEFAULT_AUDIT_DIR. */
export function auditDir(): string {
  if (chosen !== undefined) return chosen;
  const env = process.env.SC_AUDIT_DIR;
  return env ? resolve(env) : DEFAULT_AUDIT_DIR;
}

/** The audit directory as this process started (SC_AUDIT_DIR or the default). Prefer auditDir(), which follows --audit-dir. */
export const AUDIT_DIR = auditDir();

/** null when `dir` is a directory; else why quote checks cannot run (said as the reason they are skipped). */
export function auditDirProblem(dir: string = auditDir()): string | null {
  if (!existsSync(dir)) return `audit directory ${dir} not found (pass --audit-dir or set SC_AUDIT_DIR; default: ../shared/secureconnect beside the repository)`;
  if (!statSync(dir).isDirectory()) return `audit directory ${dir} is not a directory`;
  return null;
}

/** Compared as ASCII with whitespace collapsed (the audits are stored double-encoded on disk). */
const normalize = (s: string): string => s.replace(/[^\x20-\x7e]/g, '').replace(/\s+/g, ' ').trim();

/**
 * Checks that quoted audit text is on the line it names. One reader per check run: each audit file is
 * read once however many quotes point at it.
 */
export class AuditQuotes {
  private readonly files = new Map<string, string[] | null>();

  constructor(readonly auditDir: string = auditDirOrDefault()) {}

  /** null when the quote is on its line; else why not. */
  problem(s: AuditSource): string | null {
    if (!this.files.has(s.file)) {
      const f = join(this.auditDir, s.file);
      this.files.set(s.file, existsSync(f) ? readFileSync(f, 'utf8').split('\n') : null);
    }
    const lines = this.files.get(s.file);
    if (!lines) return `audit ${s.file} not found in ${this.auditDir}`;
    const line = lines[s.line - 1];
    if (line === undefined || !normalize(line).includes(normalize(s.quote))) {
      return `${s.file}:${s.line} does not read "${s.quote}" (it reads ${JSON.stringify(line ?? '(past the end)')})`;
    }
    return null;
  }
}

function auditDirOrDefault(): string {
  return auditDir();
}
