// `btrfs-lens compsize -b` against what compsize -b printed on each mounted fixture (compsize.txt).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { compsizeHuman } from '../cli/commands/compsize.js';
import { extentMap } from '../lib/fs/extent-map.js';
import { walk } from '../lib/fs/walk.js';
import { open } from '../lib/index.js';
import { runCli } from './helpers/cli.js';
import { FIXTURES_DIR, fixtureImages, fixtureNames, loadManifest } from './helpers/fixtures.js';

async function imageArgs(name: string): Promise<string[]> {
  const images = await fixtureImages(name);
  const m = loadManifest(name);
  const args = [images[0]!, ...images.slice(1).flatMap((d) => ['--device', d])];
  if (m.partition) args.push('--partition', String(m.partition.number));
  return args;
}

/** The extents each file contributes, to name the file and extent behind a differing figure. */
async function explain(name: string, got: string, want: string): Promise<string> {
  const images = await fixtureImages(name);
  const part = loadManifest(name).partition;
  const btrfs = await open(images[0]!, { devices: images.slice(1), ...(part ? { partition: part.number } : {}) });
  const lines = [`${name}: compsize differs.`, 'btrfs-lens:', got, 'compsize:', want, 'extents per file (first 60):'];
  try {
    for await (const e of walk(btrfs, '/', { follow: false })) {
      if (e.kind !== 'file' || lines.length > 66) continue;
      for (const x of (await extentMap(btrfs, e.path)).extents) {
        if (x.kind === 'hole') continue;
        lines.push(`  ${e.path} @${x.fileOffset}+${x.length}: ${x.kind} ${x.compression} logical ${x.logical} disk ${x.diskLength} ram ${x.ramBytes}`);
      }
    }
  } finally {
    await btrfs.close();
  }
  return lines.join('\n');
}

describe('compsize', () => {
  for (const name of fixtureNames()) {
    it(`${name}: equals compsize -b of the whole mount (compsize.txt)`, async () => {
      const want = fs.readFileSync(path.join(FIXTURES_DIR, name, 'compsize.txt'), 'utf8');
      const r = await runCli(['compsize', ...(await imageArgs(name)), '-b', '/']);
      assert.equal(r.code, 0, r.stderr);
      const got = r.stdout.toString('utf8');
      if (got !== want) assert.fail(await explain(name, got, want));
    });
  }

  it('JSON has the same figures', async () => {
    const args = await imageArgs('zstd');
    const r = JSON.parse((await runCli(['compsize', ...args, '--json', '/'])).stdout.toString('utf8')) as {
      files: string; extents: string; refs: string; inline: string; types: Array<{ type: string; disk_usage: string }>;
    };
    const want = fs.readFileSync(path.join(FIXTURES_DIR, 'zstd', 'compsize.txt'), 'utf8');
    assert.match(want, new RegExp(`^Processed ${r.files} files, ${r.extents} regular extents \\(${r.refs} refs\\), ${r.inline} inline\\.`));
    for (const t of r.types) assert.match(want, new RegExp(`\\n${t.type} +\\d+% +${t.disk_usage} `));
  });

  it('paths: one file, a symlink (skipped, as compsize opens with O_NOFOLLOW) and nothing at all', async () => {
    const args = await imageArgs('zlib');
    const one = (await runCli(['compsize', ...args, '-b', '/force/inline-3000'])).stdout.toString('utf8');
    // compsize -b force/inline-3000 on the mounted fixture printed this:
    assert.equal(one, [
      'Processed 1 file, 0 regular extents (0 refs), 1 inline.',
      'Type       Perc     Disk Usage   Uncompressed Referenced  ',
      'TOTAL        6%     196          3000         3000        ',
      'zlib         6%     196          3000         3000        ',
      '',
    ].join('\n'));
    const none = await runCli(['compsize', ...(await imageArgs('basic')), '/links/relative']);
    assert.equal(none.code, 1);
    assert.equal(none.stderr, 'No files.\n');
    const empty = await runCli(['compsize', ...(await imageArgs('basic')), '/empty-file']);
    assert.equal(empty.code, 1);
    assert.equal(empty.stderr, 'All empty or still-delalloced files.\n');
  });

  it('human-readable sizes as compsize prints them', () => {
    // compsize without -b on a mounted fixture printed these for 196608, 3145728, 126976, 352256, 552960.
    assert.equal(compsizeHuman(196608n), ' 192K');
    assert.equal(compsizeHuman(3145728n), ' 3.0M');
    assert.equal(compsizeHuman(126976n), ' 124K');
    assert.equal(compsizeHuman(352256n), ' 344K');
    assert.equal(compsizeHuman(552960n), ' 540K');
    assert.equal(compsizeHuman(1000n), '1000B');
    assert.equal(compsizeHuman(10239n), ' 9.9K');
  });
});
