import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { faultSpecFromFlags, paramFlag } from '../../src/cli/fault-input.js';
import { activeFaults, describeEntry, faultsText, paramsText } from '../../src/cli/fault-view.js';
import { journalAdd, type JournalEntry } from '../../chaos/journal.js';
import { sch } from '../sch.js';

/**
 * `sch fault apply | list | clear` as typed, through bin/sch: every bad input is refused with exit 2 and
 * a message naming the flag and the field, before any lab is needed; with good input and no lab up, exit 2
 * saying how to start one. No lab here.
 */
const NO_LAB = 'faultcli-none';
const tmp = mkdtempSync(join(tmpdir(), 'sch-fault-cli-'));

describe('sch fault: input parsing', () => {
  it('a named fault: its name is the default id, --param values read as numbers', () => {
    expect(faultSpecFromFlags({ fault: 'cassandra-slow', param: paramFlag('jitterMs=5', paramFlag('latencyMs=500')) }))
      .toEqual({ id: 'cassandra-slow', fault: 'cassandra-slow', params: { latencyMs: 500, jitterMs: 5 } });
    expect(faultSpecFromFlags({ fault: 'redis-outage', id: 'r1' })).toEqual({ id: 'r1', fault: 'redis-outage' });
  });

  it('--spec: JSON or YAML, its id, --id, or manual-<mechanism>', () => {
    expect(faultSpecFromFlags({ spec: '{proxyDown: redis}' })).toEqual({ id: 'manual-toxiproxy', proxyDown: 'redis' });
    expect(faultSpecFromFlags({ spec: '{"udp": {"action": "outage"}}' })).toEqual({ id: 'manual-nft', udp: { action: 'outage' } });
    expect(faultSpecFromFlags({ spec: '{process: {action: pause, target: redis}}', id: 'p' })).toEqual({ id: 'p', process: { action: 'pause', target: 'redis' } });
    expect(faultSpecFromFlags({ spec: 'id: lat\ntoxic: {proxy: cassandra, type: latency, attributes: {latency: 500}}\n' }))
      .toEqual({ id: 'lat', toxic: { proxy: 'cassandra', type: 'latency', attributes: { latency: 500 } } });
    const file = join(tmp, 'spec.yaml');
    writeFileSync(file, 'proxyDown: minio\n');
    expect(faultSpecFromFlags({ spec: `@${file}` })).toEqual({ id: 'manual-toxiproxy', proxyDown: 'minio' });
  });

  it('params are shown flat; a journal entry by this process is "running", by a process gone "exited"', () => {
    expect(paramsText({ proxy: 'cassandra', attributes: { latency: 500, jitter: 0 } })).toBe('proxy=cassandra attributes.latency=500 attributes.jitter=0');
    const entry: JournalEntry = { id: 'x', name: 'redis-outage', mechanism: 'toxiproxy', target: 'redis', params: {}, spec: { id: 'x', fault: 'redis-outage' }, appliedAtMs: Date.now(), pid: process.pid };
    expect(describeEntry(entry).appliedBy.alive).toBe(true);
    expect(describeEntry(entry, entry.appliedAtMs + 5000).ageS).toBe(5);
    const gone = spawnSync('true').pid!;
    expect(describeEntry({ ...entry, pid: gone }).appliedBy.alive).toBe(false);
    // Applied before this process started: its pid must have been someone else's.
    expect(describeEntry({ ...entry, appliedAtMs: Date.now() - 3_600_000 * 24 * 365 }).appliedBy.alive).toBe(false);
  });

  it('a composite fault\'s parts are listed as parts of it', () => {
    const before = process.env.SCH_STATE_DIR;
    process.env.SCH_STATE_DIR = tmp;
    try {
      const lab = { name: 'parts' };
      const at = Date.now();
      journalAdd(lab, { id: 'tout', name: 'turn-outage', mechanism: 'nft', target: 'turn', params: {}, spec: { id: 'tout', fault: 'turn-outage' }, appliedAtMs: at, pid: process.pid });
      journalAdd(lab, { id: 'tout-udp', name: 'custom', mechanism: 'nft', target: 'turn-udp', params: { action: 'outage' }, spec: { id: 'tout-udp', udp: { action: 'outage' } }, appliedAtMs: at, pid: process.pid });
      const faults = activeFaults(lab);
      expect(faults.map((f) => [f.id, f.partOf])).toEqual([['tout', undefined], ['tout-udp', 'tout']]);
      const text = faultsText(faults);
      expect(text).toMatch(/tout-udp\s+\(part of tout\)\s+nft\s+turn-udp\s+action=outage/);
      expect(text).toMatch(/running \(pid \d+\)/);
    } finally {
      if (before === undefined) delete process.env.SCH_STATE_DIR;
      else process.env.SCH_STATE_DIR = before;
    }
  });
});

const refusals: [string, Parameters<typeof faultSpecFromFlags>[0], RegExp][] = [
  ['--param: a value out of range', { fault: 'cassandra-slow', param: { latencyMs: -5 } }, /^--param: latencyMs: Too small/],
  ['--param: not a number', { fault: 'turn-loss', param: paramFlag('percent=lots') }, /^--param: percent: .*expected number/],
  ['--param on a fault without parameters', { fault: 'redis-outage', param: { latencyMs: 5 } }, /^--param: redis-outage takes no parameters/],
  ['--param with --spec', { spec: '{proxyDown: redis}', param: { latencyMs: 5 } }, /^--param sets a named fault's parameters/],
  ['--spec: a toxic attribute', { spec: '{toxic: {proxy: cassandra, type: latency, attributes: {latency: -1}}}' }, /^--spec: toxic\.attributes\.latency: /],
  ['--spec: an unknown key, with the nearest', { spec: '{proxydown: redis}' }, /^--spec: proxydown: unknown field; did you mean proxyDown\?/],
  ['--spec: a required field', { spec: '{udp: {action: loss}}' }, /^--spec: udp\.percent: required for action "loss"/],
  ['--spec: two mechanisms', { spec: '{proxyDown: redis, udp: {action: outage}}' }, /^--spec: \(root\): give exactly one of fault, toxic, proxyDown, udp, process/],
  ['--spec: YAML with no space after the colon', { spec: '{proxyDown:redis}' }, /^--spec: "proxyDown:redis": YAML needs a space after the colon \("proxyDown: redis"\)/],
  ['--spec: neither JSON nor YAML', { spec: '[1' }, /^--spec: neither JSON nor YAML/],
  ['--spec: not a mapping', { spec: '42' }, /^--spec: must be one fault entry as an experiment writes it/],
  ['--spec: a named fault\'s name', { spec: 'redis-outage' }, /^--spec: "redis-outage" is a named fault: sch fault apply redis-outage/],
  ['--spec: a file that is not there', { spec: '@/no/such/spec.yaml' }, /^--spec @\/no\/such\/spec\.yaml: cannot read the file/],
  ['--spec: a timeline field', { spec: '{proxyDown: redis, durationS: 5}' }, /^--spec: durationS: a fault applied by hand has no timeline/],
  ['--spec: its id against --id', { spec: '{id: a, proxyDown: redis}', id: 'b' }, /^--spec: id: "a" disagrees with --id b/],
  ['--spec and a named fault', { fault: 'redis-outage', spec: '{proxyDown: redis}' }, /^give a named fault or --spec, not both/],
  ['neither', {}, /^give a named fault \(redis-outage, .*\) or --spec/],
];

describe('sch fault apply: refusals name the flag and the field', () => {
  for (const [what, input, msg] of refusals) it(what, () => expect(() => faultSpecFromFlags(input)).toThrow(msg));
});

// Each spawn starts tsx (~2 s of CPU); several at once on a loaded machine: a generous timeout.
describe.concurrent('sch fault through bin/sch: refusals exit 2, naming the flag', { timeout: 60_000 }, () => {
  const refused: [string, string[], RegExp][] = [
    ['an unknown named fault, with the nearest', ['apply', 'redis-outge'], /unknown fault "redis-outge"; did you mean redis-outage\?/],
    ['--param: an unknown parameter, with the nearest', ['apply', 'cassandra-slow', '--param', 'latencyMS=500'], /--param: latencyMS: unknown field; did you mean latencyMs\?/],
    ['--param: not key=value (commander)', ['apply', 'cassandra-slow', '--param', 'latencyMs'], /option '--param <key=value>' argument 'latencyMs' is invalid/],
    ['--spec: a bad value, naming the field and the nearest', ['apply', '--spec', '{toxic: {proxy: casandra, type: latency, attributes: {latency: 5}}}'], /--spec: toxic\.proxy: "casandra" is not one of .*; did you mean cassandra\?/],
    ['--duration not a duration', ['apply', 'redis-outage', '--duration', 'soon'], /option '-d, --duration <time>' argument 'soon' is invalid\. "soon" is not a duration/],
    ['--id outside the alphabet', ['apply', 'redis-outage', '--id', 'Bad Id'], /option '--id <id>' argument 'Bad Id' is invalid/],
    ['--lab not a lab name', ['list', '--lab', '../etc'], /option '--lab <name>' argument '\.\.\/etc' is invalid/],
  ];
  for (const [what, args, msg] of refused) {
    it(what, async () => {
      const r = await sch(['fault', ...args, ...(args.includes('--lab') ? [] : ['--lab', NO_LAB])], { cwd: tmp });
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(msg);
    });
  }

  for (const args of [['apply', 'cassandra-slow', '--param', 'latencyMs=500', '--duration', '3s'], ['list', '--json'], ['clear', 'x']]) {
    it(`no lab up: exit 2, saying how to start one (${args.join(' ')})`, async () => {
      const r = await sch(['fault', ...args, '--lab', NO_LAB], { cwd: tmp });
      expect(r.code, r.err).toBe(2);
      expect(r.err).toContain(`no lab "${NO_LAB}" is up (start one with: sch lab up --name ${NO_LAB})`);
    });
  }

  it('--help lists the flags and the exit codes (exit 0)', async () => {
    const r = await sch(['fault', 'apply', '--help']);
    expect(r.code, r.err).toBe(0);
    for (const f of ['--param <key=value>', '--spec <entry>', '--id <id>', '--lab <name>', '-d, --duration <time>', 'Exit codes: 0 applied and seen on the wire']) expect(r.out).toContain(f);
  });
});
