/**
 * Loads mediasoup bound to our own worker binary. mediasoup resolves the binary once, when the
 * module is first imported (from MEDIASOUP_WORKER_BIN), so the variable must be set before that
 * import: hence a dynamic import here rather than a static one.
 */
import { access, constants } from 'node:fs/promises';

export type Mediasoup = typeof import('mediasoup');

export async function loadMediasoup(workerBin?: string): Promise<Mediasoup> {
  const bin = workerBin ?? process.env['MEDIASOUP_WORKER_BIN'];
  if (!bin) {
    throw new Error('MEDIASOUP_WORKER_BIN is not set: run scripts/setup --only mediasoup and point it at the built worker');
  }
  try {
    await access(bin, constants.X_OK);
  } catch {
    throw new Error(`mediasoup worker binary not executable: ${bin} (run scripts/setup --only mediasoup)`);
  }
  process.env['MEDIASOUP_WORKER_BIN'] = bin;
  const mediasoup = await import('mediasoup');
  if (mediasoup.workerBin !== bin) {
    throw new Error(`mediasoup was already loaded with worker ${mediasoup.workerBin}; cannot switch to ${bin}`);
  }
  return mediasoup;
}
