import { inject } from 'vitest';
import { Lab } from '../../src/lab/lab.js';

/** The shared test lab started by global-setup.ts. */
export async function testLab(): Promise<Lab> {
  const lab = await Lab.attach(inject('labName'));
  if (!lab) throw new Error('the shared test lab is not up (global-setup failed?)');
  return lab;
}
