import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeOrphanedChromiumDirs } from '../../src/media/chromium.js';

describe('the temporary folders of browsers whose launcher is gone', () => {
  it('are removed; those of a live launcher, of the unnamed form and anything else are left', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'chromium-dirs-'));
    try {
      const dead = spawnSync('true').pid;
      const names = [`sch-chromium-${dead}-AbC123`, `sch-chromium-${process.pid}-DeF456`, 'sch-chromium-GhI789', 'other'];
      for (const n of names) {
        mkdirSync(join(parent, n, 'profile', 'Default'), { recursive: true });
        writeFileSync(join(parent, n, 'profile', 'Default', 'Preferences'), '{}');
      }
      expect(await removeOrphanedChromiumDirs(parent)).toEqual([names[0]]);
      expect(readdirSync(parent).sort()).toEqual(names.slice(1).sort());
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
