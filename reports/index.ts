/**
 * Writes a run's reports into its directory: result.json, junit.xml, report.html and, on request,
 * report.png (the HTML rendered in headless Chromium). The result's `files` list is extended with
 * what is written, so result.json and the HTML's file list name every report.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { RunFile, RunResult } from '../src/results/model.js';
import { toHtml, type ImageSource } from './html.js';
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

/** The run directory's JPEGs (a video workload's filmstrip) as data: URLs; nothing outside the directory. */
export function runImages(dir: string): ImageSource {
  const root = resolve(dir);
  return (path) => {
    const f = resolve(root, path);
    if (!f.startsWith(root + sep) || !/\.jpe?g$/i.test(f) || !existsSync(f)) return null;
    return `data:image/jpeg;base64,${readFileSync(f).toString('base64')}`;
  };
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
  const images = runImages(dir);
  await writeFile(join(dir, REPORT_FILES.junit), toJUnit(full));
  await writeFile(htmlPath, toHtml(full, { images }));
  if (opts.screenshot) {
    try {
      await screenshotReport(htmlPath, join(dir, REPORT_FILES.screenshot));
      written.push(shot);
    } catch (err) {
      // The reports stand without the picture; say so in the log, not in a broken link.
      process.stderr.write(`report screenshot failed: ${(err as Error).message}\n`);
      full = { ...result, files: withFiles(result.files, written) };
      await writeFile(htmlPath, toHtml(full, { images }));
    }
  }
  await writeResultJson(full, dir);
  return written;
}
