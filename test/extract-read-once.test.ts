// extract reads each extent once: on every fixture, the decompressions it reports equal the distinct
// compressed extents its files reference, and the checksums it verifies equal the distinct data
// sectors they reference, both counted from the file extent items (test/emulate-model.ts), not from
// the read path. The same holds with a cache too small to hold anything: the plan, not the cache,
// makes it so. And what it writes is the kernel's content.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract, open, type ExtractSummary } from '../lib/index.js';
import { runCli } from './helpers/cli.js';
import { fixtureImages, fixtureNames, loadManifest } from './helpers/fixtures.js';
import { scanExtents } from './emulate-model.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('extract reads, verifies and decompresses each extent once', function () {
  this.timeout(600_000);
  for (const name of fixtureNames()) {
    it(`${name}: counters equal the distinct extents and sectors the files reference, at the default and at a zero cache budget`, async () => {
      const manifest = loadManifest(name);
      const images = await fixtureImages(name);
      const S = manifest.sectorsize;
      const fs = await open(images[0]!);
      let scan;
      try {
        scan = await scanExtents(fs, manifest);
      } finally {
        await fs.close();
      }
      let compressedSectors = 0;
      for (const n of scan.compressedExtents.values()) compressedSectors += Number(n) / S;
      const want = {
        decompressions: scan.compressedExtents.size,
        inline_decompressions: scan.compressedInlineInodes,
        csum_sectors_verified: scan.distinctSectors + compressedSectors,
      };
      const out = await mkdtemp(join(tmpdir(), `btrfs-lens-once-${name}-`));
      try {
        // The command as a user runs it (default cache budget), summary on stdout.
        const cli = await runCli(['extract', '--json', images[0]!, '/', '-o', join(out, 'cli')]);
        const asRoot = process.getuid?.() === 0;
        if (asRoot || !manifest.entries.some((e) => e.type === 'chr' || e.type === 'blk')) assert.ok(cli.code === 0 || /device not created/.test(cli.stderr), cli.stderr);
        const summary = JSON.parse(cli.stdout.toString()) as ExtractSummary;
        assert.deepEqual(
          { decompressions: summary.decompressions, inline_decompressions: summary.inline_decompressions, csum_sectors_verified: summary.csum_sectors_verified },
          want,
        );
        // Through the library with a cache that holds nothing: the same work.
        const tiny = await open(images[0]!, { cacheBytes: 0 });
        try {
          const s = await extract(tiny, { output: join(out, 'lib'), devices: asRoot });
          assert.deepEqual({ decompressions: s.decompressions, inline_decompressions: s.inline_decompressions, csum_sectors_verified: s.csum_sectors_verified }, want);
        } finally {
          await tiny.close();
        }
        // And the bytes are the kernel's.
        const wrong: string[] = [];
        for (const e of manifest.entries) {
          if (e.type !== 'file') continue;
          for (const dir of ['cli', 'lib']) if (sha256(await readFile(join(out, dir, e.path))) !== e.sha256) wrong.push(`${dir}${e.path}`);
        }
        assert.deepEqual(wrong, []);
      } finally {
        await rm(out, { recursive: true, force: true });
      }
    });
  }

  it('snapshots: each extent shared by snapshots is written to every sharer from one read', async () => {
    const [image] = await fixtureImages('snapshots');
    const out = await mkdtemp(join(tmpdir(), 'btrfs-lens-once-reuse-'));
    try {
      const cli = await runCli(['extract', '--json', image!, '/', '-o', out]);
      assert.equal(cli.code, 0, cli.stderr);
      const s = JSON.parse(cli.stdout.toString()) as ExtractSummary;
      assert.ok(s.extents_reused > 0, 'shared extents were written from bytes in hand');
      assert.equal(s.problems, 0);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
