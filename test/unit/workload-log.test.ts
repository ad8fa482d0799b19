import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachWorkloadLogLine, workloadDir, workloadLog } from '../../src/experiment/history.js';
import { K6_LOG_GZ, K6_LOG_GZIP_BYTES, K6_LOG_PARTS, K6_LOG_PARTS_PLAIN, K6_LOG_STDERR_MARK } from '../../src/k6/log-parts.js';
import { GzipSpool } from '../../src/k6/gzip-spool.js';
import { gzipSync } from 'node:zlib';
import { assembleK6Log } from '../../src/k6/run.js';
import { addK6LogLine, emptyK6Log, parseK6Log } from '../../src/k6/fanout-checker.js';
import { addSetupLogLine, emptySetupLog, parseSetupLog } from '../../src/k6/setup-log.js';

/** A workload's k6 log read line by line (analyze streams a soak's) holds what its whole text holds, in order. */
const SETUP = 'SETUP {"conversation_id":"c1","recipients":["r1","r2"]}';
const sent = (i: number) => `time="2026-11-30T10:00:0${i}Z" level=info msg="SENT {\\"client_message_id\\":\\"m${i}\\",\\"seq\\":${i},\\"acked\\":true}" source=console`;
const delivered = (i: number) => `DELIVERY {"recipient":"r1","client_message_id":"m${i}","seq":${i}}`;

async function streamed(dir: string, id: string) {
  const lines: string[] = [];
  const log = emptyK6Log();
  const setup = emptySetupLog();
  const had = await forEachWorkloadLogLine(dir, id, (l) => {
    lines.push(l);
    addK6LogLine(log, l);
    addSetupLogLine(setup, l);
  });
  return { had, lines, log, setup };
}

describe('a workload log, streamed', () => {
  it('k6.log, the parts a killed run left, and a split workload (setup run, then each instance) parse as their whole text does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sch-wlog-'));
    try {
      const whole = workloadDir(dir, 'chat');
      mkdirSync(whole, { recursive: true });
      writeFileSync(join(whole, 'k6.log'), `${SETUP}\n${sent(1)}\n${delivered(1)}${K6_LOG_STDERR_MARK}SC_SESSIONS {"source":"registration","reason":"login 500"}\n${sent(2)}\n`);
      // Killed outright (a run before the gzipped spool): the two plain parts, the last line cut short.
      const killed = workloadDir(dir, 'probes');
      mkdirSync(killed, { recursive: true });
      writeFileSync(join(killed, K6_LOG_PARTS_PLAIN.stdout), `${SETUP}\n`);
      writeFileSync(join(killed, K6_LOG_PARTS_PLAIN.stderr), `SC_PROBE_SETUP {"probe":"revoked","ok":false,"reason":"no logout"}\n${sent(3)}\nDELIVERY {"recip`);
      // Killed outright now: gzip members, the last one cut short mid-write.
      const cut = workloadDir(dir, 'burst');
      mkdirSync(cut, { recursive: true });
      writeFileSync(join(cut, K6_LOG_PARTS.stdout), gzipSync(`${SETUP}\n`));
      const last = gzipSync(`${sent(9)}\n`);
      writeFileSync(join(cut, K6_LOG_PARTS.stderr), Buffer.concat([gzipSync(`${sent(7)}\n`), gzipSync(`${sent(8)}\n`), last.subarray(0, last.length - 9)]));
      // Split over two generators.
      const split = workloadDir(dir, 'split');
      for (const [sub, text] of [['setup', `${SETUP}\n`], ['g1', `${sent(4)}\n${delivered(4)}\n`], ['g2', `${sent(5)}\n`]] as const) {
        mkdirSync(join(split, sub), { recursive: true });
        writeFileSync(join(split, sub, 'k6.log'), text);
      }
      for (const id of ['chat', 'probes', 'split', 'burst']) {
        const text = workloadLog(dir, id)!;
        const s = await streamed(dir, id);
        expect(s.had).toBe(true);
        expect(s.log, id).toEqual(parseK6Log(text));
        expect(s.setup, id).toEqual(parseSetupLog(text));
        // The same lines, the stderr mark aside.
        expect(s.lines.filter((l) => l !== '' && l !== K6_LOG_STDERR_MARK.trim()), id).toEqual(text.split('\n').filter((l) => l !== '' && l !== K6_LOG_STDERR_MARK.trim()));
      }
      expect((await streamed(dir, 'split')).log.sent.map((x) => x.client_message_id)).toEqual(['m4', 'm5']);
      expect((await streamed(dir, 'probes')).setup.failures).toEqual({ revoked: 'no logout' });
      // The whole members read; the cut one as far as its deflate stream got.
      expect((await streamed(dir, 'burst')).log.sent.map((x) => x.client_message_id).slice(0, 2)).toEqual(['m7', 'm8']);
      expect((await streamed(dir, 'burst')).log.setups).toHaveLength(1);
      expect(await streamed(dir, 'none')).toMatchObject({ had: false, lines: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a long log is assembled as k6.log.gz and read as the plain one would be; a short one stays k6.log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sch-wlog-gz-'));
    try {
      const long = workloadDir(dir, 'chat');
      const short = workloadDir(dir, 'probes');
      mkdirSync(long, { recursive: true });
      mkdirSync(short, { recursive: true });
      // A soak's chat log: a SENT line a message, past the threshold; spooled as k6 runs (gzip members).
      const n = Math.ceil(K6_LOG_GZIP_BYTES / sent(1).length) + 1000;
      const spool = (d: string, out: string[], err: string[]) => {
        for (const [f, lines] of [[K6_LOG_PARTS.stdout, out], [K6_LOG_PARTS.stderr, err]] as const) {
          const s = new GzipSpool(join(d, f));
          for (const l of lines) s.write(l);
          s.close();
        }
      };
      spool(long, [SETUP, ...Array.from({ length: n }, (_, i) => sent(i))], [delivered(7)]);
      // While it ran, the parts took a fraction of the text's size on disk.
      expect(statSync(join(long, K6_LOG_PARTS.stdout)).size).toBeLessThan(K6_LOG_GZIP_BYTES / 10);
      spool(short, [SETUP, sent(1)], []);
      await assembleK6Log(long);
      await assembleK6Log(short);
      expect(readdirSync(long)).toEqual([K6_LOG_GZ]);
      expect(statSync(join(long, K6_LOG_GZ)).size).toBeLessThan(K6_LOG_GZIP_BYTES / 10);
      expect(readdirSync(short)).toEqual(['k6.log']);
      const s = await streamed(dir, 'chat');
      expect(s.log.sent).toHaveLength(n);
      expect(s.log.setups).toHaveLength(1);
      expect(s.log).toEqual(parseK6Log(workloadLog(dir, 'chat')!));
      expect(existsSync(join(short, 'k6.log')) && (await streamed(dir, 'probes')).log.sent).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
