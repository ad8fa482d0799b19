import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export interface StunBurstResult {
  sent: number;
  answered: number;
  /** Share of requests without an answer, 0..1 (a round trip: a drop on either way counts). */
  loss: number;
}

/**
 * Single-shot STUN Binding requests (no retransmission, unlike a real client) from one UDP socket,
 * `gapMs` apart; counts answers by transaction id after a final wait.
 */
export async function stunBurst(host: string, port: number, o: { count?: number; gapMs?: number; waitMs?: number } = {}): Promise<StunBurstResult> {
  const count = o.count ?? 200;
  const sock = createSocket('udp4');
  const pending = new Set<string>();
  let answered = 0;
  sock.on('message', (b) => {
    if (b.length < 20 || b.readUInt16BE(0) !== 0x0101) return;
    const key = b.subarray(8, 20).toString('hex');
    if (pending.delete(key)) answered++;
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, () => resolve());
  });
  try {
    for (let i = 0; i < count; i++) {
      const msg = Buffer.alloc(20);
      msg.writeUInt16BE(0x0001, 0);
      msg.writeUInt32BE(0x2112a442, 4);
      const tid = randomBytes(12);
      tid.copy(msg, 8);
      pending.add(tid.toString('hex'));
      sock.send(msg, port, host);
      await sleep(o.gapMs ?? 2);
    }
    await sleep(o.waitMs ?? 800);
    return { sent: count, answered, loss: (count - answered) / count };
  } finally {
    sock.close();
  }
}
