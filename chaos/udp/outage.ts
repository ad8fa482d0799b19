import { seen, dropped, type UdpAction } from './udp-fault.js';

/** Drop every TURN UDP packet: a STUN burst gets no answer. */
export function udpOutage(): UdpAction {
  return {
    label: 'UDP outage',
    match: '',
    burst: 30,
    verify(m) {
      const answered = m.burst?.answered ?? 0;
      return { ok: answered === 0 && dropped(m) > 0, detail: `${answered}/${m.burst?.sent} STUN bindings answered; nft dropped ${dropped(m)}/${seen(m)} packets` };
    },
  };
}
