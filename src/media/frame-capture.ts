/**
 * What a participant sees, as a picture: the video elements a participant page renders its remote tracks
 * into (`<video data-peer=…>`, browser/rtc-stats.ts) drawn side by side on a canvas and saved as one small JPEG.
 * Each tile is drawn twice, STILL_MS apart: identical pixels mean no new frame was shown in between (the fake
 * camera's picture changes every frame), so a frozen stream is marked as such from the pixels themselves.
 * Runs in the page through puppeteer's evaluate (the function is serialised: it must stand alone).
 */
import type { Page } from 'puppeteer-core';
import { z } from 'zod';

/** Tile size: small, a filmstrip shows many of them (16:9 like the default camera). */
export const TILE = { width: 160, height: 90 } as const;
/** Longer than Chromium's freeze threshold at 15 fps (max(3 frame times, frame time + 150 ms) ≈ 217 ms). */
export const STILL_MS = 400;
const JPEG_QUALITY = 0.7;

export const CapturedTileSchema = z.object({
  /** The remote participant's user id (the page's `data-peer`); the caller maps it to a label. */
  peer: z.string(),
  /** No new frame shown in STILL_MS: the stream was frozen at the capture (null: could not tell, e.g. nothing drawn). */
  frozen: z.boolean().nullable(),
  /** The decoded picture's size (0 before the first frame). */
  videoWidth: z.number().int().min(0),
  videoHeight: z.number().int().min(0),
}).strict();
export type CapturedTile = z.output<typeof CapturedTileSchema>;

export interface CapturedFrame {
  /** When the kept picture was drawn (epoch ms). */
  atMs: number;
  width: number;
  height: number;
  /** JPEG bytes. */
  jpeg: Buffer;
  tiles: CapturedTile[];
}

/**
 * The page side, as source text: a function handed to evaluate() is serialised from its compiled form, and the
 * TypeScript loader's name-keeping helpers would not exist in the page.
 */
const IN_PAGE = `async (o) => {
  const vids = Array.from(document.querySelectorAll('video[data-peer]')).filter((v) => v.srcObject !== null);
  if (vids.length === 0) return null;
  const canvas = document.createElement('canvas');
  canvas.width = o.tw * vids.length;
  canvas.height = o.th;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return null;
  const draw = () => vids.map((v, i) => {
    ctx.fillStyle = '#000';
    ctx.fillRect(i * o.tw, 0, o.tw, o.th);
    if (v.readyState < 2 || v.videoWidth === 0) return null;
    ctx.drawImage(v, i * o.tw, 0, o.tw, o.th);
    return ctx.getImageData(i * o.tw, 0, o.tw, o.th).data;
  });
  const first = draw();
  await new Promise((r) => setTimeout(r, o.stillMs));
  const atMs = Date.now();
  const second = draw();
  const tiles = vids.map((v, i) => {
    const a = first[i];
    const b = second[i];
    let frozen = null;
    if (a && b) {
      frozen = true;
      for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) { frozen = false; break; }
    }
    return { peer: v.dataset.peer || '', frozen, videoWidth: v.videoWidth, videoHeight: v.videoHeight };
  });
  return { atMs, width: canvas.width, height: canvas.height, dataUrl: canvas.toDataURL('image/jpeg', o.quality), tiles };
}`;

const PageResultSchema = z.object({ atMs: z.number(), width: z.number().int(), height: z.number().int(), dataUrl: z.string(), tiles: z.array(CapturedTileSchema) }).strict().nullable();

/** One picture of what the page shows now; null when it shows no remote video (not joined yet). Bounded by `timeoutMs`. */
export async function captureFrame(page: Page, timeoutMs = 5_000): Promise<CapturedFrame | null> {
  let timer: NodeJS.Timeout | undefined;
  const raw = await Promise.race([
    page.evaluate(`(${IN_PAGE})(${JSON.stringify({ tw: TILE.width, th: TILE.height, stillMs: STILL_MS, quality: JPEG_QUALITY })})`) as Promise<unknown>,
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`frame capture timed out after ${timeoutMs} ms`)), timeoutMs); }),
  ]).finally(() => clearTimeout(timer));
  const r = PageResultSchema.parse(raw);
  if (!r) return null;
  const m = /^data:image\/jpeg;base64,(.+)$/.exec(r.dataUrl);
  if (!m) throw new Error('the page did not give a JPEG');
  return { atMs: r.atMs, width: r.width, height: r.height, jpeg: Buffer.from(m[1]!, 'base64'), tiles: r.tiles };
}
