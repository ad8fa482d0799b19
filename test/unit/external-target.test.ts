import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sch as runSch } from '../sch.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { checkHttpUrl, externalNote, externalRun, parseParam, withParams } from '../../src/experiment/external.js';
import { calibrate } from '../../src/experiment/calibration.js';
import { ManifestSchema } from '../../src/experiment/history.js';
import { checkRunAddresses, externalTargetFromFlags, FlagError, parseParamFlag } from '../../src/cli/run-commands.js';
import { resolveScenarioTarget } from '../../src/cli/scenario-commands.js';
import { parseInstance, parsePortBase } from '../../src/cli/target-commands.js';
import type { FaultRecord, Stats } from '../../src/results/model.js';
import type { StatsSource } from '../../src/verdicts/common.js';

/** `sch run --target-url …`, `--param`, `scenario run --target-url/--video-url`: parsing and validation, no lab. */
const REMOTE = 'http://203.0.113.5:8080'; // TEST-NET-3: never sent to (every check here refuses before sending).

describe('flag values', () => {
  it('URLs: http(s) only, the error names the flag', () => {
    expect(checkHttpUrl('--target-url', 'http://198.18.0.2:21585')).toBe('http://198.18.0.2:21585');
    expect(() => checkHttpUrl('--target-url', 'gateway:8080/x')).toThrow(/--target-url "gateway:8080\/x" is not an http\(s\) URL/);
    expect(() => checkHttpUrl('--video-url', 'not a url')).toThrow(/--video-url "not a url" is not a URL/);
  });

  it('--param: a known name and a positive integer, validated by the experiment schema', () => {
    expect(parseParam('rateLimitPerMinute=300')).toEqual(['rateLimitPerMinute', 300]);
    expect(parseParamFlag('wsMaxConnections=20', { rateLimitPerMinute: 300 })).toEqual({ rateLimitPerMinute: 300, wsMaxConnections: 20 });
    expect(() => parseParam('rateLimit=300')).toThrow(/unknown param "rateLimit" \(known: rateLimitPerMinute, wsMaxConnections\)/);
    for (const bad of ['0', '-5', '1.5', '1e3', '', 'abc']) expect(() => parseParam(`rateLimitPerMinute=${bad}`), bad).toThrow(/param rateLimitPerMinute: ".*" is not a positive integer/);
    expect(() => parseParam('300')).toThrow(/is not name=value/);
  });

  it('target up: --instance is never the runner\'s own, --port-base stays in the target range', () => {
    expect(parseInstance('extcli')).toBe('extcli');
    expect(() => parseInstance('exp')).toThrow(/runner's own instance/);
    expect(parsePortBase('85')).toBe(85);
    expect(() => parsePortBase('95')).toThrow(/0 to 90/);
  });
});

describe('sch run against an external target', () => {
  it('--target-url replaces the target; the reference-only knobs are listed as not applied; params are assumed', async () => {
    const loaded = await loadExperiment('cassandra-slow');
    // A single switch in the experiment's own target.env: reference-only too.
    const e = withParams({ ...loaded, target: { kind: 'embedded', profile: 'audited', services: ['auth', 'chat', 'gateway'], env: { SC_SWITCH_Y: '1' } } }, { rateLimitPerMinute: 300 });
    const ext = externalTargetFromFlags(e, { targetUrl: 'http://198.18.0.2:21585', videoUrl: 'http://198.18.0.2:21588' });
    expect(ext).toEqual({ baseUrl: 'http://198.18.0.2:21585', videoUrl: 'http://198.18.0.2:21588' });
    const r = externalRun(e, { externalTarget: ext!, profile: 'hardened', targetEnv: { SC_SWITCH_X: '1' } });
    expect(r.experiment.target).toEqual({ kind: 'external', baseUrl: 'http://198.18.0.2:21585', videoUrl: 'http://198.18.0.2:21588' });
    expect(r.notApplied).toEqual([
      'target.profile=audited (reference target only)',
      'target.services=auth,chat,gateway (reference target only)',
      'target.env.SC_SWITCH_Y (reference target only)',
      '--target-profile hardened (reference target only)',
      '--target-env SC_SWITCH_X (reference target only)',
    ]);
    expect(r.assumedParams).toEqual({ rateLimitPerMinute: 300, wsMaxConnections: 1000 });
    expect(externalNote(r)).toBe('external target: not applied (reference target only): target.profile=audited, target.services=auth,chat,gateway, target.env.SC_SWITCH_Y, --target-profile hardened, --target-env SC_SWITCH_X; deployment limits assumed, not set: rateLimitPerMinute=300, wsMaxConnections=1000 (--param to state yours)');
    // The manifest takes them as they are.
    expect(ManifestSchema.pick({ notApplied: true, assumedParams: true }).parse({ notApplied: r.notApplied, assumedParams: r.assumedParams })).toBeTruthy();
    // An embedded run applies everything: nothing to note.
    const embedded = externalRun(e, { profile: 'hardened' });
    expect(embedded).toEqual({ experiment: e, notApplied: [] });
    expect(externalNote(embedded)).toBeNull();
  });

  it('--toxiproxy-url / --video-url alone need an external target', async () => {
    const e = await loadExperiment('cassandra-slow');
    expect(externalTargetFromFlags(e, {})).toBeNull();
    expect(() => externalTargetFromFlags(e, { videoUrl: 'http://127.0.0.1:1' })).toThrow(FlagError);
    expect(() => externalTargetFromFlags(e, { toxiproxyUrl: 'http://127.0.0.1:1' })).toThrow(/--toxiproxy-url applies to an external target: give its gateway with --target-url/);
    const external = { ...e, target: { kind: 'external' as const, baseUrl: 'http://127.0.0.1:2', videoUrl: 'http://127.0.0.1:3' } };
    expect(externalTargetFromFlags(external, { toxiproxyUrl: 'http://127.0.0.1:4' })).toEqual({ baseUrl: 'http://127.0.0.1:2', toxiproxyUrl: 'http://127.0.0.1:4', videoUrl: 'http://127.0.0.1:3' });
  });

  it('every address outside loopback and the lab is refused without --allow-remote, naming its flag or field', async () => {
    const e = await loadExperiment('cassandra-slow');
    const local = 'http://198.18.0.2:21585';
    expect(() => checkRunAddresses(e, { baseUrl: REMOTE }, false)).toThrow(`--target-url ${REMOTE} is outside loopback and the lab's network`);
    expect(() => checkRunAddresses(e, { baseUrl: local, videoUrl: REMOTE }, false)).toThrow(`--video-url ${REMOTE} is outside`);
    expect(() => checkRunAddresses(e, { baseUrl: local, toxiproxyUrl: REMOTE }, false)).toThrow(`--toxiproxy-url ${REMOTE} is outside`);
    expect(() => checkRunAddresses({ ...e, target: { kind: 'external', baseUrl: REMOTE } }, null, false)).toThrow(`target.baseUrl ${REMOTE} is outside`);
    const withEnv = { ...e, workloads: e.workloads.map((w) => (w.kind === 'k6' ? { ...w, env: { ...w.env, SC_VIDEO_URL: REMOTE } } : w)) };
    expect(() => checkRunAddresses(withEnv, null, false)).toThrow(`workloads.probes.env.SC_VIDEO_URL ${REMOTE} is outside`);
    expect(() => checkRunAddresses(e, { baseUrl: REMOTE, videoUrl: REMOTE }, true)).not.toThrow();
    expect(() => checkRunAddresses(e, { baseUrl: local, videoUrl: 'http://127.0.0.1:9' }, false)).not.toThrow();
  });
});

describe('sch scenario run --target-url (alias --base-url) --video-url', () => {
  it('one gateway, named by the flag used; --video-url sets SC_VIDEO_URL', () => {
    expect(resolveScenarioTarget({ targetUrl: 'http://127.0.0.1:1', videoUrl: 'http://127.0.0.1:2' }, { SC_RATE: '1' })).toEqual({ baseUrl: 'http://127.0.0.1:1', flag: '--target-url', env: { SC_RATE: '1', SC_VIDEO_URL: 'http://127.0.0.1:2' } });
    expect(resolveScenarioTarget({ baseUrl: 'http://127.0.0.1:1' }, {})).toMatchObject({ baseUrl: 'http://127.0.0.1:1', flag: '--base-url' });
    expect(() => resolveScenarioTarget({}, {})).toThrow(/required option '--base-url <url>' or '--target-url <url>' not specified/);
    expect(() => resolveScenarioTarget({ targetUrl: 'http://127.0.0.1:1', baseUrl: 'http://127.0.0.1:2' }, {})).toThrow(/disagree/);
    expect(() => resolveScenarioTarget({ targetUrl: 'http://127.0.0.1:1', videoUrl: 'http://127.0.0.1:2' }, { SC_VIDEO_URL: 'http://127.0.0.1:3' })).toThrow(/--video-url .* and --env SC_VIDEO_URL=.* disagree/);
    expect(() => resolveScenarioTarget({ targetUrl: 'ftp://127.0.0.1:1' }, {})).toThrow(/--target-url "ftp:\/\/127.0.0.1:1" is not an http\(s\) URL/);
    expect(() => resolveScenarioTarget({ targetUrl: REMOTE }, {})).toThrow(`--target-url ${REMOTE} is outside loopback`);
    expect(() => resolveScenarioTarget({ targetUrl: 'http://127.0.0.1:1', videoUrl: REMOTE }, {})).toThrow(`--video-url ${REMOTE} is outside loopback`);
    expect(resolveScenarioTarget({ targetUrl: REMOTE, videoUrl: REMOTE, allowRemote: true }, {}).baseUrl).toBe(REMOTE);
  });
});

describe('the CLI refuses bad flags with exit 2, naming the flag, before anything', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'sch-ext-flags-'));
  const sch = (args: string[]) => runSch(args);
  const cases: [string[], RegExp][] = [
    [['--target-url', 'nope'], /option '--target-url <url>' argument 'nope' is invalid\. --target-url "nope" is not a URL/],
    [['--target-url', 'http://127.0.0.1:9', '--param', 'rateLimitPerMinute=lots'], /option '--param <name=value>' argument 'rateLimitPerMinute=lots' is invalid\. param rateLimitPerMinute: "lots" is not a positive integer/],
    [['--target-url', 'http://127.0.0.1:9', '--param', 'burst=3'], /unknown param "burst"/],
    [['--video-url', 'http://127.0.0.1:9'], /error: --video-url applies to an external target/],
  ];
  for (const [args, want] of cases) {
    it(args.join(' '), async () => {
      const out = join(tmp, args.join('_').replace(/[^a-z0-9]/gi, ''));
      const r = await sch(['run', 'cassandra-slow', '--no-screenshot', '--lab', 'no-such-lab', '--out-dir', out, ...args]);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(want);
      expect(existsSync(out)).toBe(false);
    }, 30_000);
  }
});

describe('calibration: exposure in the lab\'s network (external target behind the lab\'s Toxiproxy)', () => {
  const rec: FaultRecord = { id: 'c', name: 'cassandra-slow', mechanism: 'toxiproxy', target: 'cassandra', params: {}, plannedStartS: 7, plannedDurationS: 8, appliedAtMs: 7000, removedAtMs: 15000, verified: true, verifyDetail: 'ok', rolledBack: true };
  const source = (connections: number | null): StatsSource => ({
    stats: (sel): Stats => (sel.metric === 'sc_target_connections' && connections !== null ? { kind: 'gauge', count: 5, min: connections, max: connections } : { kind: 'gauge', count: 0 }),
    windowStats: (): Stats => ({ kind: 'gauge', count: 0 }),
  });
  it('reads sc_target_connections like the embedded case and says whose connections they are', () => {
    const [, held] = calibrate({ records: [rec], source: source(2), exposure: 'namespace', runStartMs: 0 });
    expect(held).toMatchObject({ label: 'sc_target_connections{proxy=cassandra}', ok: true, observed: 2 });
    expect(held!.detail).toMatch(/processes in the lab's network other than Toxiproxy and the harness held up to 2/);
    const [, none] = calibrate({ records: [rec], source: source(0), exposure: 'namespace', runStartMs: 0 });
    expect(none).toMatchObject({ ok: false });
    expect(none!.detail).toMatch(/not on the target's path/);
  });
});
