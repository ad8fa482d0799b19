/**
 * Writes a run's reports into its directory: result.json, junit.xml, report.html and, on request,
 * report.png (the HTML rendered in headless Chromium). The result's `files` list is extended with
 * what is written, so result.json and the HTML's file list name every report.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunFile, RunResult } from '../src/results/model.js';
import { toHtml } from './html.js';
import { toJUnit } from './junit.js';
import { writeResultJson } from './json.js';
import { screenshotReport } from './screenshot.js';

export { toHtml } from './html.js';
export { toJUnit } from './junit.js';
export { readResultJson, writeResultJson, resultToJson, ResultFileError } from './json.js';
export { screenshotReport, type ScreenshotOptions } from './screenshot.js';

export const REPORT_FILES = { json: 'result.json', junit: 'junit.xml', report: 'report.html', screenshot: 'report.png' } as const;

export interface WriteReportsOptions {
  /** Also render report.html in headless Chromium and save report.png (default false). */
  screenshot?: boolean;
}

function withFiles(existing: RunFile[], added: RunFile[]): RunFile[] {
  const out = existing.filter((f) => !added.some((a) => a.path === f.path));
  return [...out, ...added];
}

/** Writes result.json, junit.xml, report.html (and report.png on request); returns the files written. */
export async function writeReports(result: RunResult, dir: string, opts: WriteReportsOptions = {}): Promise<RunFile[]> {
  await mkdir(dir, { recursive: true });
  const written: RunFile[] = [
    { kind: 'json', path: REPORT_FILES.json },
    { kind: 'junit', path: REPORT_FILES.junit },
    { kind: 'report', path: REPORT_FILES.report },
  ];
  const shot: RunFile = { kind: 'screenshot', path: REPORT_FILES.screenshot };
  let full: RunResult = { ...result, files: withFiles(result.files, opts.screenshot ? [...written, shot] : written) };
  const htmlPath = join(dir, REPORT_FILES.report);
  await writeFile(join(dir, REPORT_FILES.junit), toJUnit(full));
  await writeFile(htmlPath, toHtml(full));
  if (opts.screenshot) {
    try {
      await screenshotReport(htmlPath, join(dir, REPORT_FILES.screenshot));
      written.push(shot);
    } catch (err) {
      // The reports stand without the picture; say so in the log, not in a broken link.
      process.stderr.write(`report screenshot failed: ${(err as Error).message}\n`);
      full = { ...result, files: withFiles(result.files, written) };
      await writeFile(htmlPath, toHtml(full));
    }
  }
  await writeResultJson(full, dir);
  return written;
}
