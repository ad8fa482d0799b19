import { bandwidthToxic } from './bandwidth.js';
import { latencyToxic } from './latency.js';
import type { ToxicType } from './mechanism.js';
import { limitDataToxic } from './limit-data.js';
import { resetPeerToxic } from './reset-peer.js';
import { slicerToxic } from './slicer.js';
import { slowCloseToxic } from './slow-close.js';
import { timeoutToxic } from './timeout.js';
import type { ToxicKind } from './toxic-fault.js';

export const TOXIC_KINDS: Record<ToxicType, ToxicKind> = {
  latency: latencyToxic as unknown as ToxicKind,
  bandwidth: bandwidthToxic as unknown as ToxicKind,
  timeout: timeoutToxic as unknown as ToxicKind,
  reset_peer: resetPeerToxic as unknown as ToxicKind,
  slicer: slicerToxic as unknown as ToxicKind,
  limit_data: limitDataToxic as unknown as ToxicKind,
  slow_close: slowCloseToxic as unknown as ToxicKind,
};
