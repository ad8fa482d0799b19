/**
 * Chromium launcher for media tests: headless Chromium with a fake camera and microphone, driven
 * by puppeteer-core over a pipe (not a DevTools port), so it also works when Chromium runs inside
 * a network namespace through a wrapper executable (`ip netns exec NS chromium ...`): the pipe is
 * inherited file descriptors, which cross `ip netns exec`, while a TCP port would not be reachable.
 * The pipe also ties the browser to its launcher: Chromium exits when the pipe closes, so a runner killed outright
 * takes its browsers with it within ~2 s (test/integration/checkpoint.test.ts), as k6 does through setpriv.
 */
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { processAlive } from '../util/process-alive.js';

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags proven with Chromium 156 on Debian 12 (see FACTS.md). */
export const CHROMIUM_MEDIA_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  // QUIC/background traffic would only add noise to network fault experiments.
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Fake camera (640x360 @ 20 fps) and microphone, and auto-accept the permission prompt.
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

export interface LaunchChromiumOptions {
  /**
   * Command prefix that runs Chromium elsewhere, e.g. `ip netns exec NS` (a string is split on
   * whitespace; pass an array for arguments containing spaces).
   */
  netnsPrefix?: string | readonly string[];
  /** Additional Chromium flags (appended after the defaults). */
  extraArgs?: readonly string[];
  /** Chromium binary; default /usr/bin/chromium. */
  executablePath?: string;
  /** Timeout for Chromium to start, ms (default 30000). */
  launchTimeoutMs?: number;
}

export interface ChromiumSession {
  browser: Browser;
  /** Closes the browser (kills it if it does not exit) and removes its temporary files. Idempotent. */
  close(): Promise<void>;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function prefixArgs(prefix: string | readonly string[] | undefined): string[] {
  if (prefix === undefined) return [];
  return typeof prefix === 'string' ? prefix.trim().split(/\s+/).filter(Boolean) : [...prefix];
}

/** A launch's temporary folder is named after the launching process: `sch-chromium-<pid>-XXXXXX`. */
const TEMP_DIR = /^sch-chromium-(\d+)-/;

/**
 * Removes the temporary folders (profile, wrapper) of launchers that are gone: a runner killed outright never closes
 * its browser (Chromium ends itself when its DevTools pipe closes) and its folder, a few MB, would stay in the temp
 * directory for ever. Only folders of this naming whose process no longer runs. Returns the folders removed.
 */
export async function removeOrphanedChromiumDirs(parent: string = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(parent).catch(() => [])) {
    const pid = TEMP_DIR.exec(name)?.[1];
    if (pid === undefined || processAlive(Number(pid))) continue;
    // A browser still shutting down may write as it goes: what cannot be removed now is removed next time.
    await rm(join(parent, name), { recursive: true, force: true, maxRetries: 2 }).then(() => removed.push(name), () => undefined);
  }
  return removed;
}

/** Swept once per process, at its first launch (a launcher that dies later leaves its folder to the next start). */
let swept: Promise<unknown> | null = null;

export async function launchChromium(opts: LaunchChromiumOptions = {}): Promise<ChromiumSession> {
  const chromium = opts.executablePath ?? DEFAULT_CHROMIUM_PATH;
  await (swept ??= removeOrphanedChromiumDirs());
  // One temp dir per launch: a fresh profile (no state leaks between runs) and the wrapper.
  const dir = await mkdtemp(join(tmpdir(), `sch-chromium-${process.pid}-`));
  const userDataDir = join(dir, 'profile');
  let executablePath = chromium;
  const prefix = prefixArgs(opts.netnsPrefix);
  if (prefix.length > 0) {
    executablePath = join(dir, 'chromium-wrapper.sh');
    const cmd = [...prefix, chromium].map(shellQuote).join(' ');
    await writeFile(executablePath, `#!/bin/sh\nexec ${cmd} "$@"\n`);
    await chmod(executablePath, 0o755);
  }

  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      pipe: true,
      userDataDir,
      args: [...CHROMIUM_MEDIA_ARGS, ...(opts.extraArgs ?? [])],
      timeout: opts.launchTimeoutMs ?? 30_000,
      // The caller owns signal handling; puppeteer's handlers would exit the process before the
      // caller could close its other resources.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const proc = browser.process();
      try {
        await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 5_000))]);
      } catch {
        // Already gone.
      }
      // With a wrapper, the process is the shell exec'd into the prefix; kill it if still alive.
      if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    })();
    return closing;
  };
  return { browser, close };
}
