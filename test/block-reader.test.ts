// The tree block cache: verified blocks are served again without I/O, and what it holds stays bounded.

import assert from 'node:assert/strict';
import { Filesystem } from '../lib/fs/filesystem.js';
import { ObjectId } from '../lib/ondisk/constants.js';
import { key, U64_MAX } from '../lib/ondisk/key.js';
import { fixtureImages } from './helpers/fixtures.js';

describe('tree block cache', () => {
  it('serves a block again without reading it, keeps recently used blocks, and forgets beyond its bound', async () => {
    // node4k: 4 KiB tree blocks, so the subvolumes' trees span many leaves.
    const images = await fixtureImages('node4k');
    // Room for 16 blocks: two generations of 8.
    const fs = await Filesystem.open(images, { treeCacheBytes: 16 * 4096 });
    try {
      const tree = await fs.tree(ObjectId.FS_TREE);
      const leaves: bigint[] = [];
      for await (const it of tree.range(key(0n, 0, 0n), key(U64_MAX, 255, U64_MAX))) if (leaves.at(-1) !== it.block) leaves.push(it.block);
      assert.ok(leaves.length > 40, `only ${leaves.length} leaves`);
      const { blocks } = fs;
      const reads = () => blocks.stats.reads;

      const before = reads();
      await blocks.read(leaves[0]!);
      const first = reads() - before;
      await blocks.read(leaves[0]!);
      assert.equal(reads() - before, first, 'a block just read was read again');

      // A block used every few reads stays; blocks nobody asks for again are forgotten.
      await blocks.read(leaves[1]!);
      for (let i = 2; i < 40; i++) {
        await blocks.read(leaves[i]!);
        if (i % 4 === 0) {
          const r = reads();
          await blocks.read(leaves[1]!);
          assert.equal(reads(), r, `leaf 1 was dropped while in use (after leaf ${i})`);
        }
      }
      const r = reads();
      await blocks.read(leaves[2]!);
      assert.equal(reads(), r + 1, 'leaf 2, unused since 37 other blocks were read, is still cached: the cache is not bounded');
    } finally {
      await fs.close();
    }
  });
});
