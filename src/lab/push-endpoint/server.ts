/**
 * The lab's push endpoint: an HTTP server with the shape of Firebase Cloud Messaging's HTTP v1 send API
 * (`POST /v1/projects/{project}/messages:send`, one message per request, answered `{name}` or a Google error body).
 * FCM itself cannot run in the lab; this stands where it would, behind its Toxiproxy proxy, so a slow or dead
 * push provider can be made real on the target's path. It delivers nothing: it counts what it accepted
 * (`GET /stats`), which is what "pushes delivered" means here.
 *
 * Node built-ins only and erasable TypeScript only: the lab runs it bundled, docker-compose.test.yml runs this
 * file with Node's type stripping.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const MAX_BODY_BYTES = 64 * 1024;
const SEND_PATH = /^\/v1\/projects\/([a-z0-9-]{1,64})\/messages:send$/;

interface Stats {
  received: number;
  rejected: number;
  byType: Record<string, number>;
}

const stats: Stats = { received: 0, rejected: 0, byType: {} };

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** FCM's error shape (google.rpc.Status). */
function googleError(res: ServerResponse, code: number, status: string, message: string): void {
  stats.rejected++;
  answer(res, code, { error: { code, message, status } });
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        resolve(null);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

async function send(req: IncomingMessage, res: ServerResponse, project: string): Promise<void> {
  if (!/^Bearer \S+$/.test(req.headers.authorization ?? '')) return googleError(res, 401, 'UNAUTHENTICATED', 'Request is missing required authentication credential.');
  const raw = await readBody(req);
  if (raw === null) return googleError(res, 400, 'INVALID_ARGUMENT', 'Request payload size exceeds the limit.');
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return googleError(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
  }
  const message = isRecord(body) ? body.message : undefined;
  if (!isRecord(message)) return googleError(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. Unknown name or missing "message".');
  const targets = ['token', 'topic', 'condition'].filter((k) => typeof message[k] === 'string' && message[k] !== '');
  if (targets.length !== 1) return googleError(res, 400, 'INVALID_ARGUMENT', 'Exactly one of token, topic or condition must be specified.');
  const data = message.data;
  if (data !== undefined && (!isRecord(data) || Object.values(data).some((v) => typeof v !== 'string'))) return googleError(res, 400, 'INVALID_ARGUMENT', 'Invalid value at \'message.data\': values must be strings.');
  stats.received++;
  const type = isRecord(data) && typeof data.type === 'string' ? data.type.slice(0, 32) : 'other';
  if (Object.keys(stats.byType).length < 32 || type in stats.byType) stats.byType[type] = (stats.byType[type] ?? 0) + 1;
  answer(res, 200, { name: `projects/${project}/messages/${Date.now().toString(36)}${stats.received.toString(36)}` });
}

const server = createServer((req, res) => {
  const url = (req.url ?? '/').split('?')[0]!;
  const m = SEND_PATH.exec(url);
  if (req.method === 'POST' && m) {
    send(req, res, m[1]!).catch((e: unknown) => answer(res, 500, { error: { code: 500, message: String(e).slice(0, 200), status: 'INTERNAL' } }));
  } else if (req.method === 'GET' && url === '/health') {
    answer(res, 200, { status: 'ok' });
  } else if (req.method === 'GET' && url === '/stats') {
    answer(res, 200, stats);
  } else {
    googleError(res, 404, 'NOT_FOUND', 'The requested resource was not found.');
  }
});
// Idle keep-alive sockets close after 30 s; a request body must arrive within 10 s.
server.keepAliveTimeout = 30_000;
server.requestTimeout = 10_000;

const host = process.env.PUSH_HOST ?? '0.0.0.0';
const port = Number(process.env.PUSH_PORT ?? '9099');
server.listen(port, host, () => console.log(`push endpoint (FCM v1 send API shape) on ${host}:${port}`));
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => server.close(() => process.exit(0)));
