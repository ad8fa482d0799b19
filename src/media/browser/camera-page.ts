/**
 * A send-only browser participant of an SFU call: Chromium's fake camera at a given size and frame rate, one
 * producer through mediasoup-client, on the call's signaling socket (token in the query, the target's extension).
 * What the synthetic senders replay is recorded from it (camera-recorder.ts). Driven through window.scCamera.
 */
import { Device } from 'mediasoup-client';
import type { types as msc } from 'mediasoup-client';

export interface CameraPageConfig {
  wsUrl: string;
  width: number;
  height: number;
  fps: number;
}

class CameraPage {
  private ws: WebSocket | null = null;
  private readonly pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private stream: MediaStream | null = null;
  private transport: msc.Transport | null = null;

  async start(c: CameraPageConfig): Promise<void> {
    const ws = new WebSocket(c.wsUrl);
    this.ws = ws;
    await new Promise<void>((res, rej) => {
      ws.onopen = () => res();
      ws.onerror = () => rej(new Error('signaling socket failed'));
    });
    ws.onmessage = (ev) => {
      const f = JSON.parse(String(ev.data)) as { type?: string; request_id?: string; ok?: boolean; data?: unknown; error?: unknown };
      const p = f.type === 'sfu-response' && f.request_id ? this.pending.get(f.request_id) : undefined;
      if (!p) return;
      this.pending.delete(f.request_id!);
      if (f.ok) p.resolve(f.data);
      else p.reject(new Error(JSON.stringify(f.error)));
    };
    const { rtpCapabilities } = (await this.request('sfu-get-router-rtp-capabilities', {})) as { rtpCapabilities: msc.RtpCapabilities };
    const device = new Device();
    await device.load({ routerRtpCapabilities: rtpCapabilities });
    const info = (await this.request('sfu-create-transport', { direction: 'send' })) as msc.TransportOptions;
    const t = device.createSendTransport(info);
    this.transport = t;
    t.on('connect', ({ dtlsParameters }, ok, err) => void this.request('sfu-connect-transport', { transportId: t.id, dtlsParameters }).then(() => ok(), err));
    t.on('produce', ({ kind, rtpParameters, appData }, ok, err) => void this.request('sfu-produce', { transportId: t.id, kind, rtpParameters, appData }).then((r) => ok({ id: (r as { producerId: string }).producerId }), err));
    this.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { exact: c.width }, height: { exact: c.height }, frameRate: { ideal: c.fps, max: c.fps } }, audio: false });
    await t.produce({ track: this.stream.getVideoTracks()[0]! });
  }

  private request(type: string, data: unknown): Promise<unknown> {
    const request_id = `c${++this.seq}`;
    this.ws!.send(JSON.stringify({ type, request_id, data }));
    return new Promise((resolve, reject) => {
      this.pending.set(request_id, { resolve, reject });
      setTimeout(() => reject(new Error(`${type} timed out`)), 10_000);
    });
  }

  close(): void {
    this.transport?.close();
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.ws?.close();
  }
}

(window as unknown as { scCamera: CameraPage }).scCamera = new CameraPage();
