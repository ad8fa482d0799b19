import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { binaries, HARNESS_ROOT } from '../../src/lab/paths.js';
import { bundleScenario } from '../../src/k6/bundle.js';

// A socket closed while it is still connecting, with the real k6: k6 v2.2.0's close() blocks its VU for good when that
// dial then fails (the probes' k6 of a 2-hour soak hung so), and scenarios/lib/ws.ts closeSocket must never.

let dir: string;
let server: Server;
let port: number;
/** Upgrade requests to /refuse are answered 503 together once two have come; others accepted after 300 ms. */
const closeCodes: number[] = [];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'socket-close-'));
  const wss = new WebSocketServer({ noServer: true });
  let waiting: Duplex[] = [];
  server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    if (req.url?.startsWith('/refuse')) {
      waiting.push(socket);
      if (waiting.length < 2) return;
      for (const s of waiting) s.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      waiting = [];
      return;
    }
    setTimeout(() => wss.handleUpgrade(req, socket, head, (ws) => ws.on('close', (code) => closeCodes.push(code))), 300);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

/** Two sockets; `refused`: the first to fail closes the other, still connecting; `connecting`: both closed at once. */
function script(close: 'closeSocket' | 'plain'): string {
  const doClose = close === 'closeSocket' ? 'closeSocket(s)' : 's.close()';
  return `import { WebSocket } from 'k6/websockets';
import { closeSocket } from ${JSON.stringify(join(HARNESS_ROOT, 'scenarios', 'lib', 'ws.ts'))};
export const options = { iterations: 1, vus: 1 };
const shut = (s: WebSocket): void => { ${doClose}; };
export default function (): void {
  const a = new WebSocket(__ENV.URL);
  const b = new WebSocket(__ENV.URL);
  if (__ENV.MODE === 'refused') {
    a.onerror = () => shut(b);
    b.onerror = () => shut(a);
  } else {
    shut(a);
    shut(b);
  }
}
`;
}

/** Runs the script with the real k6; its exit code, or 'hung' when it has not ended within `limitMs`. */
async function runK6(close: 'closeSocket' | 'plain', mode: 'refused' | 'connecting', limitMs: number): Promise<number | 'hung'> {
  const file = join(dir, `close-${close}.ts`);
  writeFileSync(file, script(close));
  const bundle = await bundleScenario(file, { outDir: dir });
  const path = mode === 'refused' ? '/refuse' : '/accept';
  const k6 = spawn(binaries().k6, ['run', '--quiet', '--no-usage-report', '-e', `URL=ws://127.0.0.1:${port}${path}`, '-e', `MODE=${mode}`, bundle.path], { stdio: 'ignore' });
  const timer = setTimeout(() => k6.kill('SIGKILL'), limitMs);
  const [code, signal] = (await once(k6, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  return signal === 'SIGKILL' ? 'hung' : (code ?? -1);
}

describe('closing a k6/websockets socket that is still connecting', () => {
  it('closeSocket: a socket whose dial then fails lets the VU end; plain close() hangs k6 (why closeSocket exists)', async () => {
    expect(await runK6('closeSocket', 'refused', 30_000)).toBe(0);
    expect(await runK6('plain', 'refused', 5_000)).toBe('hung');
  }, 60_000);

  it('closeSocket: a socket whose dial then succeeds is closed as it opens (code 1000 at the server)', async () => {
    closeCodes.length = 0;
    expect(await runK6('closeSocket', 'connecting', 30_000)).toBe(0);
    expect(closeCodes).toEqual([1000, 1000]);
  }, 40_000);
});
