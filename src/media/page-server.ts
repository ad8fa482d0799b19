/**
 * Tiny HTTP server for browser test pages: fixed in-memory assets plus a JSON RPC endpoint the
 * page uses for signaling (POST /rpc {method, params} -> {result} | {error}).
 * Served from http://127.0.0.1 the page is a secure context, so getUserMedia works.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PageAsset {
  contentType: string;
  body: string | Buffer;
}

export type RpcHandler = (method: string, params: unknown) => Promise<unknown>;

export interface PageServerOptions {
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; default 0 (a free port). */
  port?: number;
  /** URL path -> asset, e.g. { '/': html, '/client.js': bundle }. */
  assets: Readonly<Record<string, PageAsset>>;
  rpc?: RpcHandler;
  /** Largest accepted RPC body, bytes (default 1 MiB). */
  maxBodyBytes?: number;
}

export interface PageServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > max) throw new Error(`request body over ${max} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

export async function startPageServer(opts: PageServerOptions): Promise<PageServer> {
  const host = opts.host ?? '127.0.0.1';
  const maxBody = opts.maxBodyBytes ?? 1 << 20;

  const server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (req.method === 'POST' && path === '/rpc' && opts.rpc) {
        let method = '?';
        try {
          const msg = JSON.parse(await readBody(req, maxBody)) as { method?: unknown; params?: unknown };
          if (typeof msg.method !== 'string') throw new Error('rpc: "method" must be a string');
          method = msg.method;
          const result = await opts.rpc(method, msg.params);
          send(res, 200, 'application/json', JSON.stringify({ result: result ?? null }));
        } catch (err) {
          const message = `${method}: ${err instanceof Error ? err.message : String(err)}`;
          send(res, 200, 'application/json', JSON.stringify({ error: message }));
        }
        return;
      }
      const asset = req.method === 'GET' ? opts.assets[path] : undefined;
      if (asset) send(res, 200, asset.contentType, asset.body);
      else send(res, 404, 'text/plain', 'not found');
    })().catch(() => res.destroy());
  });
  // Browsers keep connections alive; without this close() would wait for them.
  server.keepAliveTimeout = 1_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
