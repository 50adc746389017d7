// The streaming bypass is only safe if it never skips the cache for data another file can read:
// wherever FIEMAP's back-reference walk (map's `shared`, checked against btrfs fi du) says an extent
// is shared, the cheap shareability test must say so too. And reading every file through the bypass
// still gives the kernel's bytes, with every data sector verified.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { extentMap } from '../lib/fs/extent-map.js';
import { fileExtentItems } from '../lib/fs/file-extents.js';
import { walk } from '../lib/fs/walk.js';
import { open } from '../lib/index.js';
import { fixtureImages, fixtureNames, loadManifest } from './helpers/fixtures.js';

describe('streaming bypass of the page cache', function () {
  this.timeout(600_000);
  for (const name of fixtureNames()) {
    it(`${name}: every extent FIEMAP calls shared is shareable; bypassed reads match the manifest`, async () => {
      const manifest = loadManifest(name);
      const images = await fixtureImages(name);
      const fs = await open(images[0]!);
      try {
        const oracle = fs.shareability;
        let shared = 0;
        for await (const e of walk(fs, '/', { follow: false })) {
          if (e.kind !== 'file') continue;
          const map = await extentMap(fs, e.path);
          const file = await fs.fileRef(e.node, e.path);
          for await (const raw of fileExtentItems(file.tree, file.ino, fs.filesystem.sectorsize)) {
            const x = raw.extent;
            if (x.kind !== 'regular' || x.diskBytenr === 0n) continue;
            const entry = map.extents.find((m) => m.fileOffset === raw.fileOffset && m.logical === x.diskBytenr);
            if (!entry?.shared) continue;
            shared++;
            assert.ok(await oracle.canBeShared(file.subvol, x, raw.where.block), `${e.path} at ${raw.fileOffset}: shared but not shareable`);
          }
          const want = manifest.entries.find((m) => m.path === e.path)!;
          const data = await fs.readFile(e.path);
          assert.equal(createHash('sha256').update(data).digest('hex'), want.sha256, e.path);
          // Data that bypasses the cache is verified on every read: a second read verifies again.
          if (!file.nodatasum && map.extents.some((x) => x.kind === 'regular' && x.compression === 'none' && !x.beyondEof && !x.shared && x.refs === 1n)) {
            const before = fs.counters.csum_sectors_verified;
            await fs.readFile(e.path);
            assert.ok(fs.counters.csum_sectors_verified > before, `${e.path}: a bypassed read verified nothing`);
          }
        }
        if (name === 'snapshots') assert.ok(shared > 0, 'the snapshots fixture has shared extents');
      } finally {
        await fs.close();
      }
    });
  }
});
