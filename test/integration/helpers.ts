import { expect, inject } from 'vitest';
import { checksOf, readSamples, readSummary } from '../../src/k6/run.js';
import { Lab } from '../../src/lab/lab.js';

/** The shared test lab started by global-setup.ts. */
export async function testLab(): Promise<Lab> {
  const lab = await Lab.attach(inject('labName'));
  if (!lab) throw new Error('the shared test lab is not up (global-setup failed?)');
  return lab;
}

/**
 * Asserts a scenario run's checks passed for every step (checks named "<step>: …", at least one
 * each, none failed) and that its raw samples hold sc_step_duration points for every step.
 * Returns the run's summary for further assertions.
 */
export function expectEveryStepPassed(r: { summaryPath: string; samplesPath: string }, steps: readonly string[]): ReturnType<typeof readSummary> {
  const summary = readSummary(r.summaryPath);
  const checks = checksOf(summary);
  for (const step of steps) {
    const forStep = Object.entries(checks).filter(([name]) => name.startsWith(`${step}:`));
    expect(forStep.length, `checks of ${step}: ${JSON.stringify(checks)}`).toBeGreaterThan(0);
    for (const [name, c] of forStep) {
      expect(c.fails, name).toBe(0);
      expect(c.passes, name).toBeGreaterThan(0);
    }
  }
  const points = readSamples(r.samplesPath).filter((p) => p.type === 'Point' && p.metric === 'sc_step_duration');
  for (const step of steps) {
    const mine = points.filter((p) => p.type === 'Point' && p.data.tags?.step === step);
    expect(mine.length, `sc_step_duration points for step ${step}`).toBeGreaterThan(0);
  }
  return summary;
}
