/**
 * Browser participant for SecureConnect's signaling socket with the SFU extension (`sfu-*` frames):
 * joins a call, optionally sends its camera, and consumes every producer announced to it.
 * Bundled by esbuild (iife) and driven by puppeteer through window.scParticipant.
 */
import { Device } from 'mediasoup-client';
import type { types as msc } from 'mediasoup-client';

interface Pending { resolve: (v: unknown) => void; reject: (e: Error) => void }

class Participant {
  private ws!: WebSocket;
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private device = new Device();
  private recv: msc.Transport | null = null;
  readonly events: string[] = [];

  async join(wsUrl: string, produce: boolean): Promise<void> {
    this.ws = new WebSocket(wsUrl);
    await new Promise<void>((res, rej) => {
      this.ws.onopen = () => res();
      this.ws.onerror = () => rej(new Error('signaling socket failed'));
    });
    this.ws.onmessage = (ev) => void this.onFrame(JSON.parse(String(ev.data)) as Record<string, unknown>);
    const { rtpCapabilities } = (await this.request('sfu-get-router-rtp-capabilities', {})) as { rtpCapabilities: msc.RtpCapabilities };
    await this.device.load({ routerRtpCapabilities: rtpCapabilities });
    this.recv = await this.transport('recv');
    if (produce) {
      const send = await this.transport('send');
      const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
      await send.produce({ track: stream.getVideoTracks()[0]! });
    }
  }

  private request(type: string, data: unknown): Promise<unknown> {
    const request_id = `r${++this.seq}`;
    this.ws.send(JSON.stringify({ type, request_id, data }));
    return new Promise((resolve, reject) => {
      this.pending.set(request_id, { resolve, reject });
      setTimeout(() => reject(new Error(`${type} timed out`)), 10_000);
    });
  }

  private async transport(direction: 'send' | 'recv'): Promise<msc.Transport> {
    const info = (await this.request('sfu-create-transport', { direction })) as msc.TransportOptions;
    const t = direction === 'send' ? this.device.createSendTransport(info) : this.device.createRecvTransport(info);
    t.on('connect', ({ dtlsParameters }, ok, err) => void this.request('sfu-connect-transport', { transportId: t.id, dtlsParameters }).then(() => ok(), err));
    if (direction === 'send') {
      t.on('produce', ({ kind, rtpParameters, appData }, ok, err) => void this.request('sfu-produce', { transportId: t.id, kind, rtpParameters, appData }).then((r) => ok({ id: (r as { producerId: string }).producerId }), err));
    }
    return t;
  }

  private async onFrame(f: Record<string, unknown>): Promise<void> {
    this.events.push(String(f.type));
    if (f.type === 'sfu-response') {
      const p = this.pending.get(String(f.request_id));
      if (!p) return;
      this.pending.delete(String(f.request_id));
      if (f.ok) p.resolve(f.data);
      else p.reject(new Error(JSON.stringify(f.error)));
    } else if (f.type === 'sfu-new-producer' && this.recv) {
      const { producerId } = f.data as { producerId: string };
      const c = (await this.request('sfu-consume', { producerId, rtpCapabilities: this.device.rtpCapabilities, transportId: this.recv.id })) as { consumerId: string; producerId: string; kind: msc.MediaKind; rtpParameters: msc.RtpParameters };
      const consumer = await this.recv.consume({ id: c.consumerId, producerId: c.producerId, kind: c.kind, rtpParameters: c.rtpParameters });
      const el = document.createElement('video');
      el.muted = true;
      el.autoplay = true;
      el.srcObject = new MediaStream([consumer.track]);
      document.body.appendChild(el);
      await this.request('sfu-resume-consumer', { consumerId: c.consumerId });
    }
  }

  /** Frames decoded over all inbound video streams (the `probator` stream never decodes: skipped). */
  async framesDecoded(): Promise<number> {
    if (!this.recv) return 0;
    let n = 0;
    (await this.recv.getStats()).forEach((s: Record<string, unknown>) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video' && s.mid !== 'probator') n += Number(s.framesDecoded ?? 0);
    });
    return n;
  }
}

(window as unknown as { scParticipant: Participant }).scParticipant = new Participant();
