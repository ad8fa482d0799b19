import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A port nothing listens on (bound, then released): a target that refuses every connection. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
