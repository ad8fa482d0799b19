import type { TestProject } from 'vitest/node';
import { Lab } from '../../src/lab/lab.js';

/** One lab for every integration test file: started once, torn down at the end, also on failure. */
/** SCH_TEST_LAB / SCH_TEST_BASE_PORT let two integration runs share the machine (each its own lab). */
export const TEST_LAB = process.env.SCH_TEST_LAB ?? 'itest';
export const TEST_BASE_PORT = Number(process.env.SCH_TEST_BASE_PORT ?? 23000);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  await Lab.up({ name: TEST_LAB, basePort: TEST_BASE_PORT, onProgress: (l) => process.stderr.write(`[lab] ${l}\n`) });
  process.stderr.write(`[lab] test lab up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  project.provide('labName', TEST_LAB);
  return async () => {
    await Lab.down(TEST_LAB);
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    labName: string;
  }
}
