import type { TestContext } from 'vitest';
import { auditDirProblem } from '../../src/util/audit-quotes.js';

/**
 * Quote checks need SecureConnect's audits, which live beside the clone (../shared/secureconnect,
 * --audit-dir, SC_AUDIT_DIR), not in it. Where they are absent the test is skipped with the reason:
 * printed, and given to vitest as the skip note. Never a silent skipIf.
 */
export function skipWithoutAudits(ctx: TestContext, what: string): void {
  const problem = auditDirProblem();
  if (problem === null) return;
  process.stderr.write(`[skipped] ${what}: ${problem}\n`);
  ctx.skip(`${what}: ${problem}`);
}
