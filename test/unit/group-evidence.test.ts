import { describe, expect, it } from 'vitest';
import { groupEvidence } from '../../src/verdicts/common.js';

const r = (phase: string, body: string) => ({ phase, evidence: `${phase}: ${body}` });

describe('evidence of many phases', () => {
  it('phases saying the same thing are said once, naming them; the others as they are', () => {
    const outages = Array.from({ length: 30 }, (_, i) => r(i === 0 ? 'fault:redis' : `fault:redis#${i + 1}`, '400/400 deliveries; lost 0'));
    expect(groupEvidence([...outages, r('fault:minio', '398/400 deliveries; lost 2 (m-1)')])).toBe(
      'fault:redis … fault:redis#30 (30 phases, each): 400/400 deliveries; lost 0; fault:minio: 398/400 deliveries; lost 2 (m-1)',
    );
    expect(groupEvidence([r('a', 'x'), r('b', 'y'), r('c', 'x')])).toBe('a, c: x; b: y');
  });
  it('evidence not led by its phase is kept whole', () => {
    expect(groupEvidence([{ phase: 'run', evidence: 'no samples' }, r('after', 'ok')])).toBe('after: ok; no samples');
  });
});
