import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Lab } from '../../src/lab/lab.js';
import { binaries, HARNESS_ROOT } from '../../src/lab/paths.js';
import { run } from '../../src/lab/exec.js';
import type { SfuProbeResult } from '../../src/media/sfu-probe.js';
import { testLab } from './helpers.js';

let lab: Lab;
beforeAll(async () => {
  lab = await testLab();
});

describe('Chromium -> mediasoup worker -> Chromium inside the lab', () => {
  it('one page\'s fake camera reaches another page through the SFU and decodes', async () => {
    // The whole probe (worker, page server, Chromium) runs inside the lab's network, as the target will.
    const probe = join(HARNESS_ROOT, 'src', 'media', 'sfu-probe.ts');
    const r = await run(lab.execPrefix[0] ?? process.execPath, [
      ...lab.execPrefix.slice(1), ...(lab.execPrefix.length ? [process.execPath] : []),
      '--import', 'tsx', probe,
      '--listen-ip', lab.address, '--rtc-min-port', String(lab.ports.rtc.min), '--rtc-max-port', String(lab.ports.rtc.max),
      '--timeout-ms', '45000',
    ], { cwd: HARNESS_ROOT, timeoutMs: 90_000, env: { ...process.env, MEDIASOUP_WORKER_BIN: binaries().mediasoupWorker } });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    expect(line, `probe printed nothing; stderr: ${r.stderr.slice(-2000)}`).toMatch(/^\{/);
    const result = JSON.parse(line) as SfuProbeResult;
    expect(result.ok, r.stderr.slice(-2000)).toBe(true);
    expect(result.framesDecoded).toBeGreaterThan(0);
    expect(r.code).toBe(0);
  });
});
