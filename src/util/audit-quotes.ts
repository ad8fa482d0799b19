import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AuditSource {
  file: string;
  line: number;
  quote: string;
}

/** Compared as ASCII with whitespace collapsed (the audits are stored double-encoded on disk). */
const normalize = (s: string): string => s.replace(/[^\x20-\x7e]/g, '').replace(/\s+/g, ' ').trim();

/**
 * Checks that quoted audit text is on the line it names. One reader per check run: each audit file is
 * read once however many quotes point at it.
 */
export class AuditQuotes {
  private readonly files = new Map<string, string[] | null>();

  constructor(readonly auditDir: string) {}

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
