import type { TestProject } from 'vitest/node';
import { Lab } from '../../src/lab/lab.js';

/** One lab for every integration test file: started once, torn down at the end, also on failure. */
/** SCH_TEST_LAB / SCH_TEST_BASE_PORT let two integration runs share the machine (each its own lab). */
export const TEST_LAB = process.env.SCH_TEST_LAB ?? 'itest';
export const TEST_BASE_PORT = Number(process.env.SCH_TEST_BASE_PORT ?? 23000);

/** The experiment lane (vitest.config.ts) runs beside the other: a lab of its own, 1000 ports further. */
export function laneLab(project: string): { name: string; basePort: number } {
  return project === 'integration-experiments' ? { name: `${TEST_LAB}-x`, basePort: TEST_BASE_PORT + 1000 } : { name: TEST_LAB, basePort: TEST_BASE_PORT };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const { name, basePort } = laneLab(project.name);
  await Lab.up({ name, basePort, onProgress: (l) => process.stderr.write(`[lab ${name}] ${l}\n`) });
  process.stderr.write(`[lab ${name}] test lab up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  project.provide('labName', name);
  return async () => {
    await Lab.down(name);
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    labName: string;
  }
}
