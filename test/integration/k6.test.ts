import { describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { binaries } from '../../src/lab/paths.js';
import { run } from '../../src/lab/exec.js';

describe('k6 (built by scripts/setup)', () => {
  it('runs a script against a loopback HTTP server and its JSON output reads back', async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const dir = mkdtempSync(join(tmpdir(), 'sch-k6-'));
    const script = join(dir, 'smoke.js');
    writeFileSync(script, `import http from 'k6/http';
import { check } from 'k6';
export const options = { vus: 2, iterations: 20 };
export default function () {
  const r = http.get('http://127.0.0.1:${port}/');
  check(r, { 'status 200': (x) => x.status === 200 });
}
`);
    try {
      const out = join(dir, 'samples.json');
      const r = await run(binaries().k6, ['run', '--quiet', '--no-usage-report', '--out', `json=${out}`, script], { timeoutMs: 60_000, env: { ...process.env, K6_NO_COLOR: '1' } });
      expect(r.code, r.stderr).toBe(0);
      const points = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; metric: string; data: { value: number; tags?: Record<string, string> } });
      const reqs = points.filter((p) => p.type === 'Point' && p.metric === 'http_reqs');
      expect(reqs).toHaveLength(20);
      expect(reqs.every((p) => p.data.tags?.status === '200')).toBe(true);
      const durations = points.filter((p) => p.type === 'Point' && p.metric === 'http_req_duration').map((p) => p.data.value);
      expect(durations.every((d) => d > 0 && d < 5000)).toBe(true);
      expect(hits).toBe(20);
    } finally {
      server.close();
    }
  });
});
