import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleScenario } from '../../src/k6/bundle.js';
import { BUILTIN_METRIC_KINDS, readMetricKinds, writeMetricKinds } from '../../src/k6/metric-kinds.js';

describe('metric kinds beside CSV samples', () => {
  it('every metric the probes scenario declares gets its kind from the bundle\'s sources; k6\'s built-ins from the table', async () => {
    const bundle = await bundleScenario('probes');
    const dir = mkdtempSync(join(tmpdir(), 'kinds-'));
    const kinds = writeMetricKinds(join(dir, 'metric-kinds.json'), bundle.inputs);
    expect(kinds).toMatchObject({ sc_attempt: 'counter', sc_probe_ok: 'rate', sc_probe_duration: 'trend', http_req_duration: 'trend', http_req_failed: 'rate', vus: 'gauge' });
    expect(readMetricKinds(join(dir, 'metric-kinds.json'))).toEqual(kinds);
    // A script may not turn a built-in into another kind.
    writeFileSync(join(dir, 'own.js'), "import { Counter } from 'k6/metrics'; const c = new Counter('http_req_duration'); const g = new Gauge(`sc_depth`);");
    const own = writeMetricKinds(join(dir, 'own.json'), [join(dir, 'own.js')]);
    expect(own.http_req_duration).toBe(BUILTIN_METRIC_KINDS.http_req_duration);
    expect(own.sc_depth).toBe('gauge');
    expect(readMetricKinds(join(dir, 'absent.json'))).toEqual({});
    writeFileSync(join(dir, 'bad.json'), '{"sc_x": "histogram"}');
    expect(() => readMetricKinds(join(dir, 'bad.json'))).toThrow(/bad\.json: not a metric-kinds file: sc_x: /);
  });
});
