/**
 * report.png: report.html rendered in headless Chromium on the host. Launched here with
 * puppeteer-core rather than through the harness's media launcher: a static page needs none of its
 * fake devices or namespace wrapper, and reports/ stays free of src/ beyond the result model.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';
import type { RunFile } from '../src/results/model.js';

export interface ScreenshotOptions {
  /** Viewport width in CSS pixels (default 1360). */
  width?: number;
  /** Chromium binary (default /usr/bin/chromium). */
  executablePath?: string;
}

/**
 * Renders report.html and saves a full-page PNG. Any request that is not the file itself is
 * blocked: a report must not reach the network. Returns the screenshot as a RunFile, its path
 * relative to the HTML's directory.
 */
export async function screenshotReport(htmlPath: string, pngPath: string, opts: ScreenshotOptions = {}): Promise<RunFile> {
  // A fresh profile per render: nothing of another run's browser state.
  const profile = await mkdtemp(join(tmpdir(), 'sch-report-'));
  try {
    const browser = await puppeteer.launch({
      executablePath: opts.executablePath ?? '/usr/bin/chromium',
      headless: true,
      pipe: true,
      userDataDir: profile,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 30_000,
      // The caller owns signal handling: puppeteer's handlers would exit the process under it.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: opts.width ?? 1360, height: 900, deviceScaleFactor: 1 });
      const url = pathToFileURL(resolve(htmlPath)).href;
      await page.setRequestInterception(true);
      page.on('request', (req) => {
        if (req.url() === url || req.url().startsWith('data:')) void req.continue();
        else void req.abort('blockedbyclient');
      });
      await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
      await mkdir(dirname(pngPath), { recursive: true });
      await page.screenshot({ path: pngPath as `${string}.png`, fullPage: true, type: 'png' });
    } finally {
      const proc = browser.process();
      await Promise.race([browser.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5_000))]);
      if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
  return { kind: 'screenshot', path: relative(dirname(resolve(htmlPath)), resolve(pngPath)) };
}
