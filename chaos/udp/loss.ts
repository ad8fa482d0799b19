import { seen, dropped, type UdpAction } from './udp-fault.js';

/**
 * Drop `percent` % of the TURN UDP packets each way. A STUN round trip crosses both ways, so the
 * burst should lose 1-(1-p)² of its requests; the counters should show ≈ p of the packets dropped.
 */
export function udpLoss(percent: number): UdpAction {
  const p = percent / 100;
  const expectedRoundTrip = 1 - (1 - p) ** 2;
  return {
    label: `UDP loss ${percent} %`,
    match: `numgen random mod 100 < ${Math.round(percent)}`,
    burst: 200,
    verify(m) {
      const loss = m.burst?.loss ?? 0;
      const ratio = dropped(m) / Math.max(1, seen(m));
      // Binomial spread over 200 requests (σ ≈ 3.5 pp) plus margin: ±12 pp.
      const ok = Math.abs(loss - expectedRoundTrip) <= 0.12;
      return { ok, detail: `STUN round trips lost ${(loss * 100).toFixed(1)} % (${m.burst?.answered}/${m.burst?.sent} answered), expected ≈ ${(expectedRoundTrip * 100).toFixed(1)} % for ${percent} % each way; nft dropped ${dropped(m)}/${seen(m)} packets (${(ratio * 100).toFixed(1)} %)` };
    },
  };
}
