import { seen, dropped, type UdpAction } from './udp-fault.js';

/** Drop TURN UDP packets above `kbytesPerSecond` each way (nft `limit rate over`). */
export function udpRateCap(kbytesPerSecond: number): UdpAction {
  return {
    label: `UDP rate cap ${kbytesPerSecond} kB/s`,
    match: `limit rate over ${Math.round(kbytesPerSecond)} kbytes/second`,
    // A few small requests: the counters must see them (STUN bindings are far below any sane cap).
    burst: 20,
    verify(m) {
      const s = seen(m);
      return { ok: s > 0, detail: `rate-cap chains present; counters saw ${s} packets, dropped ${dropped(m)}; ${m.burst?.answered}/${m.burst?.sent} STUN bindings answered` };
    },
  };
}
