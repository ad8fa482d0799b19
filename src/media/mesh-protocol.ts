/**
 * What the mesh participant page (browser/mesh-page.ts) and its Node driver (mesh-participant.ts) exchange:
 * types only, so both sides are checked against one definition. The page does WebRTC; Node holds the REST
 * session and the signaling socket (with the bearer header, as SecureConnect's clients send it) and relays
 * frames both ways.
 */

export interface MeshPageConfig {
  /** This participant's user id (frames carry user ids: sender_id / target_id). */
  selfId: string;
  iceServers: { urls: string[]; username?: string; credential?: string }[];
  icePolicy: 'all' | 'relay';
  camera: { width: number; height: number; fps: number };
  audio: boolean;
}

/** A signaling frame as the server relays it (flat, contract N05). */
export interface SignalFrame {
  type: string;
  sender_id?: string;
  target_id?: string;
  sdp?: string;
  candidate?: { candidate?: string; sdpMid?: string | null; sdpMLineIndex?: number | null };
}

/** One inbound RTP stream's cumulative counters (getStats `inbound-rtp`). */
export interface RawInbound {
  kind: 'audio' | 'video';
  trackId: string;
  packetsReceived: number;
  packetsLost: number;
  bytesReceived: number;
  /** Seconds (getStats unit). */
  jitter: number | null;
  framesReceived: number | null;
  framesDecoded: number | null;
  framesDropped: number | null;
  freezeCount: number | null;
  /** NACKs this receiver sent for the stream (retransmission negotiated); absent from older pages. */
  nackCount?: number | null;
  /** Seconds. */
  totalFreezesDuration: number | null;
  frameWidth: number | null;
  frameHeight: number | null;
}

/** The selected candidate pair of a peer connection. */
export interface RawPair {
  localType: string | null;
  remoteType: string | null;
  /** Seconds. */
  currentRoundTripTime: number | null;
  /** Bits per second. */
  availableOutgoingBitrate: number | null;
}

/** One outbound RTP stream's cumulative counters (getStats `outbound-rtp`). */
export interface RawOutbound {
  kind: 'audio' | 'video';
  bytesSent: number;
  packetsSent: number;
}

export interface RawPeer {
  /** The remote participant's user id. */
  peer: string;
  outbound: RawOutbound[];
  connectionState: string;
  iceConnectionState: string;
  inbound: RawInbound[];
  pair: RawPair | null;
  /** Epoch ms of the first video frame shown from this peer (requestVideoFrameCallback), null before. */
  firstFrameAtMs: number | null;
  /**
   * false: this entry has no connection of its own (an SFU call's remote participant, received over the one
   * receive transport): its state is not counted in sc_peer_connections. Default true.
   */
  ownConnection?: boolean;
}

/** A state change of one peer connection, in the order the page saw them; `restart`: the page restarted its ICE (state: why). */
export interface StateEvent {
  atMs: number;
  peer: string;
  what: 'ice' | 'connection' | 'restart';
  state: string;
}

/** One poll of the page: cumulative counters per peer, and the state changes since the last poll. */
export interface PageSnapshot {
  atMs: number;
  peers: RawPeer[];
  events: StateEvent[];
  /** Page-side problems since the last poll (a failed setRemoteDescription…), for the workload's log. */
  errors: string[];
}

/** window.scMesh in the page. */
export interface MeshPageApi {
  start(config: MeshPageConfig): Promise<void>;
  /** The ICE servers of connections made from now on (a late joiner fetches its TURN credentials when it joins). */
  setIceServers(servers: MeshPageConfig['iceServers']): void;
  /** A frame from the signaling socket (`turn_available`: the server says TURN is back; the page restarts ICE where it is down). */
  onSignal(frame: SignalFrame): Promise<void>;
  snapshot(): Promise<PageSnapshot>;
  close(): void;
}

/** Page → Node: exposed by puppeteer as window.scSendSignal (a frame to send on the signaling socket). */
export const SEND_SIGNAL_BINDING = 'scSendSignal';
