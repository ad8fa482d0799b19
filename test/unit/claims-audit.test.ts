import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { run } from '../../src/lab/exec.js';
import { loadClaims, verifyClaimSources, type Claim } from '../../src/experiment/claims.js';
import { AuditQuotes, DEFAULT_AUDIT_DIR, auditDir, auditDirProblem, setAuditDir } from '../../src/util/audit-quotes.js';
import { skipWithoutAudits } from './audit-skip.js';

/** The audit is an input: found through --audit-dir / SC_AUDIT_DIR / beside the clone; absent, quote checks are skipped with the reason. */

const savedEnv = process.env.SC_AUDIT_DIR;
afterEach(() => {
  setAuditDir(undefined);
  if (savedEnv === undefined) delete process.env.SC_AUDIT_DIR;
  else process.env.SC_AUDIT_DIR = savedEnv;
});

describe('claims catalogue against the audit', () => {
  it('every claim quotes its audit line word for word', (ctx) => {
    skipWithoutAudits(ctx, 'claim quotes');
    expect(verifyClaimSources(loadClaims())).toEqual([]);
  });

  it('a claim whose quote is not on its line is reported', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sch-claims-audit-'));
    writeFileSync(join(dir, '002_x.txt'), 'Redis Down | Login | degraded\nsomething else\n');
    const claim = (line: number): Claim => ({
      id: 'X', kind: 'fault', title: 't', experiments: ['redis-outage'], audit: { verdict: 'PASS', says: 'login works' }, requires: [], expected: { audited: 'PASS', 'as-built': 'PASS', hardened: 'PASS' },
      source: { file: '002_x.txt', line, section: 's', quote: 'Redis Down | Login' },
    });
    expect(verifyClaimSources([claim(1)], dir)).toEqual([]);
    expect(verifyClaimSources([claim(2)], dir)).toEqual(['X: 002_x.txt:2 does not read "Redis Down | Login" (it reads "something else")']);
  });
});

describe('where the audit is found', () => {
  it('by default beside the repository (not the current directory); SC_AUDIT_DIR, then --audit-dir (setAuditDir) override it', () => {
    delete process.env.SC_AUDIT_DIR;
    expect(DEFAULT_AUDIT_DIR).toBe(resolve(HARNESS_ROOT, '..', 'shared', 'secureconnect'));
    expect(auditDir()).toBe(DEFAULT_AUDIT_DIR);
    process.env.SC_AUDIT_DIR = 'some/relative';
    expect(auditDir()).toBe(resolve('some/relative'));
    setAuditDir('/elsewhere/audits');
    expect(auditDir()).toBe('/elsewhere/audits');
    expect(new AuditQuotes().auditDir).toBe('/elsewhere/audits');
    setAuditDir(undefined);
    expect(auditDir()).toBe(resolve('some/relative'));
  });

  it('an absent audit directory is named with what to do', () => {
    expect(auditDirProblem('/nonexistent/audits')).toBe('audit directory /nonexistent/audits not found (pass --audit-dir or set SC_AUDIT_DIR; default: ../shared/secureconnect beside the repository)');
    expect(auditDirProblem(HARNESS_ROOT)).toBeNull();
    expect(auditDirProblem(join(HARNESS_ROOT, 'package.json'))).toMatch(/is not a directory$/);
  });

  it('sch --audit-dir: a directory that is not there is bad input (exit 2, the flag named)', async () => {
    const sch = (args: string[]) => run(process.execPath, ['--import', 'tsx', join(HARNESS_ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd: HARNESS_ROOT, timeoutMs: 60_000 });
    const bad = await sch(['--audit-dir', '/nonexistent/audits', 'scenario', 'list', '--json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --audit-dir \/nonexistent\/audits: audit directory \/nonexistent\/audits not found/m);
    const good = await sch(['--audit-dir', HARNESS_ROOT, 'scenario', 'list', '--json']);
    expect(good.code, good.stderr).toBe(0);
    const help = await sch(['--help']);
    expect(help.stdout).toMatch(/--audit-dir <dir>/);
  }, 60_000);
});
