import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { startTarget, type RunningTarget } from '../../src/lab/target.js';
import { readSummary, runScenario } from '../../src/k6/run.js';
import { parseK6Log } from '../../src/k6/fanout-checker.js';
import { expectNoSecrets } from './no-secrets.js';
import { testLab } from './helpers.js';

/**
 * No credential reaches a run's files. The test learns the real credentials without their being on disk:
 * k6 talks to the target through a recording relay on loopback (this process), which keeps in memory every
 * bearer token and password that crosses it (request headers, URLs, bodies, answers, socket upgrades).
 * Then every file of the run directory is searched for each of them.
 */
let target: RunningTarget | undefined;
let relay: Server | undefined;
let relayUrl = '';
const seen = new Set<string>();
const runRoot = join(HARNESS_ROOT, 'reports', 'runs', `itest-secrets-${new Date().toISOString().replace(/[:.]/g, '-')}`);

const JWT = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g;
const PASSWORD = /"password"\s*:\s*"([^"]+)"/g;

function record(text: string): void {
  for (const m of text.matchAll(JWT)) seen.add(m[0]);
  for (const m of text.matchAll(PASSWORD)) seen.add(m[1]!);
}
const recordHead = (url: string | undefined, headers: IncomingHttpHeaders) => record(`${decodeURIComponent(url ?? '')}\n${JSON.stringify(headers)}`);

/** A loopback HTTP + WebSocket relay to `upstream` that records what crosses it. */
async function startRelay(upstream: string): Promise<{ server: Server; url: string }> {
  const up = new URL(upstream);
  const server = createServer((req, res) => {
    recordHead(req.url, req.headers);
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const sent = Buffer.concat(body);
      record(sent.toString('utf8'));
      const fwd = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (ans) => {
        const got: Buffer[] = [];
        ans.on('data', (c: Buffer) => got.push(c));
        ans.on('end', () => {
          const all = Buffer.concat(got);
          record(all.toString('utf8'));
          res.writeHead(ans.statusCode ?? 502, ans.headers).end(all);
        });
      });
      fwd.on('error', () => res.writeHead(502).end());
      fwd.end(sent);
    });
  });
  // Socket upgrades: recorded, then relayed byte for byte (as the gateway does).
  server.on('upgrade', (req, socket, head) => {
    recordHead(req.url, req.headers);
    const upstreamSocket = connect(Number(up.port), up.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstreamSocket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) upstreamSocket.write(head);
      socket.pipe(upstreamSocket).pipe(socket);
    });
    upstreamSocket.on('error', () => socket.destroy());
    socket.on('error', () => upstreamSocket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  const lab = await testLab();
  target = await startTarget(lab, { profile: 'hardened', portBase: 60, instance: 'secrets', services: ['auth', 'chat', 'gateway'], env: { RATE_LIMIT_PER_MINUTE: '100000' } });
  const r = await startRelay(target.baseUrl);
  relay = r.server;
  relayUrl = r.url;
});

afterAll(async () => {
  relay?.closeAllConnections();
  await new Promise<void>((r) => (relay ? relay.close(() => r()) : r()));
  await target?.stop();
});

describe('no credential in a run\'s files (summary, samples, log, options)', () => {
  it('chat-fanout over the socket: the accounts\' tokens (setup() data) and passwords are nowhere on disk', async () => {
    seen.clear();
    const out = join(runRoot, 'fanout-ws');
    const r = await runScenario({
      name: 'chat-fanout', baseUrl: relayUrl, profile: 'smoke', outDir: out, timeoutMs: 120_000,
      env: { SC_SEND_VIA: 'ws', SC_GROUP_SIZE: '3', SC_RATE: '2', SC_DURATION: '3s', SC_WARMUP: '2s', SC_DRAIN: '2s', SC_RUN_ID: `sec${randomBytes(3).toString('hex')}` },
    });
    expect(r.outcome, `${r.failure ?? ''} ${r.failedThresholds.join('; ')}`).toBe('passed');
    const log = parseK6Log(`${r.stdout}\n${r.stderr}`);
    expect(log.sent.length).toBeGreaterThan(0);
    expect(log.sent.every((s) => s.acked)).toBe(true);
    // 4 accounts registered (sender + 3 receivers): an access and a refresh token and a password each, at least.
    const secrets = [...seen];
    expect(secrets.filter((s) => s.startsWith('eyJ')).length).toBeGreaterThanOrEqual(8);
    expect(secrets.filter((s) => !s.startsWith('eyJ')).length).toBe(4);
    expectNoSecrets(out, secrets);
    // The summary still reads as before, minus setup() data.
    expect(Object.keys(readSummary(r.summaryPath)).sort()).toEqual(['metrics', 'root_group']);
  }, 180_000);

  it('registration: every token issued and every password sent is nowhere on disk', async () => {
    seen.clear();
    const out = join(runRoot, 'registration');
    const r = await runScenario({ name: 'registration', baseUrl: relayUrl, profile: 'smoke', outDir: out, timeoutMs: 90_000 });
    expect(r.outcome, `${r.failure ?? ''} ${r.failedThresholds.join('; ')}`).toBe('passed');
    const flows = Number(readSummary(r.summaryPath).metrics.sc_flows_completed?.count);
    expect(flows).toBeGreaterThanOrEqual(3);
    // Each flow: a password (register + login) and 3 token pairs (register, login, refresh).
    const secrets = [...seen];
    expect(secrets.filter((s) => !s.startsWith('eyJ')).length).toBeGreaterThanOrEqual(flows);
    expect(secrets.filter((s) => s.startsWith('eyJ')).length).toBeGreaterThanOrEqual(flows * 6);
    expectNoSecrets(out, secrets);
  }, 150_000);

  it('probes (what experiments run): the revoked, sender, receiver and account tokens are nowhere on disk', async () => {
    seen.clear();
    const out = join(runRoot, 'probes');
    const r = await runScenario({
      // Spooled as experiment runs do (the console output on disk as it comes, then k6.log).
      name: 'probes', baseUrl: relayUrl, profile: 'smoke', outDir: out, timeoutMs: 120_000, spoolOutput: true,
      env: { SC_PROBES: 'login,authed,revoked,revoked_ws_chat,deliver,ws_origin', SC_PROBE_RATE: '2', SC_DURATION: '3s', SC_USERS: '2', SC_RUN_ID: `sec${randomBytes(3).toString('hex')}` },
    });
    expect(r.outcome, `${r.failure ?? ''} ${r.failedThresholds.join('; ')}`).not.toBe('failed');
    // 8 accounts (2 + revoked, sender, receiver, uploader, caller, callee), their sessions' and the logins' tokens.
    const secrets = [...seen];
    expect(secrets.filter((s) => s.startsWith('eyJ')).length).toBeGreaterThanOrEqual(12);
    expectNoSecrets(out, secrets);
  }, 180_000);
});
