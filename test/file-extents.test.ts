// A file's mappings come two ways: as an array from cached tree blocks, or loaded item by item. For
// every regular file of the fixtures with holes, prealloc, inline data, fragments and shared extents,
// and for ranges that start, end and fall between extents, both must give the same cover.

import assert from 'node:assert/strict';
import { mappings, mappingsLoading, type Mapping } from '../lib/fs/file-extents.js';
import { walk } from '../lib/fs/walk.js';
import { open } from '../lib/index.js';
import { fixtureImages } from './helpers/fixtures.js';

const show = (m: Mapping) => `${m.kind} ${m.fileOffset}+${m.length}${'where' in m && m.where ? ` @${m.where.itemOffset}` : ''}`;

describe('file mappings', () => {
  for (const fixture of ['basic', 'snapshots', 'zstd']) {
    it(`${fixture}: the array from cached blocks and the loaded iteration agree for every file and range`, async () => {
      const fs = await open((await fixtureImages(fixture))[0]!);
      try {
        const S = BigInt(fs.filesystem.sectorsize);
        let compared = 0;
        for await (const e of walk(fs, '/', { follow: false })) {
          if (e.kind !== 'file') continue;
          const tree = await fs.tree(e.node.subvol);
          const size = e.facts.size;
          const ends = [0n, 1n, S - 1n, S, 3n * S + 5n, size / 2n, size - 1n, size, size + 5n * S];
          for (const from of ends) {
            for (const to of ends) {
              if (from < 0n || to <= from) continue;
              const loaded: string[] = [];
              for await (const m of mappingsLoading(tree, e.node.ino, fs.filesystem.sectorsize, from, to)) loaded.push(show(m));
              const got = mappings(tree, e.node.ino, fs.filesystem.sectorsize, from, to);
              const cached: string[] = [];
              for await (const m of got) cached.push(show(m));
              assert.deepEqual(cached, loaded, `${e.path} [${from}, ${to})`);
              // The cover is exact: contiguous from `from` to `to`.
              let at = from;
              for (const m of got instanceof Array ? got : []) {
                assert.equal(m.fileOffset, at, `${e.path} [${from}, ${to}): gap or overlap at ${at}`);
                at += m.length;
              }
              if (got instanceof Array) assert.equal(at, to, `${e.path} [${from}, ${to}): cover ends at ${at}`);
              compared++;
            }
          }
        }
        assert.ok(compared > 100, `only ${compared} ranges compared`);
      } finally {
        await fs.close();
      }
    });
  }
});
