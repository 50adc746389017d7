// Tree lookups against the tree's own items: get, floor and range give the same answers whatever
// was looked up before (the last descent's path is reused for keys inside its leaf).

import assert from 'node:assert/strict';
import { Filesystem } from '../lib/fs/filesystem.js';
import { ObjectId } from '../lib/ondisk/constants.js';
import { compareKeys, formatKey, key, U64_MAX, type Key } from '../lib/ondisk/key.js';
import { Tree } from '../lib/tree/tree.js';
import { fixtureImages } from './helpers/fixtures.js';

/** A small deterministic generator (the test must fail the same way every time). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

describe('tree lookups', () => {
  it('rangeCached answers only from blocks in memory', async () => {
    const fs = await Filesystem.open(await fixtureImages('node4k'), { treeCacheBytes: 16 * 4096 });
    try {
      const tree = await fs.tree(ObjectId.FS_TREE);
      const min = key(0n, 0, 0n);
      const max = key(U64_MAX, 255, U64_MAX);
      assert.equal(tree.rangeCached(min, max, 5), undefined, 'nothing of this tree was read yet');
      const first: Key[] = [];
      for await (const it of tree.range(min, max)) if (first.push(it.key) === 5) break;
      assert.deepEqual(tree.rangeCached(min, first[4]!, 10)?.map((it) => formatKey(it.key)), first.map(formatKey), 'the first leaf is cached now');
      assert.equal(tree.rangeCached(min, first[4]!, 4), undefined, 'more items than the limit');
      assert.equal(tree.rangeCached(min, max, 1_000_000), undefined, 'the rest of the tree was never read');
    } finally {
      await fs.close();
    }
  });

  it('get, floor and range agree with a plain scan, for keys in any order (node4k: many leaves)', async () => {
    const fs = await Filesystem.open(await fixtureImages('node4k'));
    try {
      const tree = await fs.tree(ObjectId.FS_TREE);
      const all: Key[] = [];
      const leafOf: bigint[] = [];
      for await (const it of tree.range(key(0n, 0, 0n), key(U64_MAX, 255, U64_MAX))) {
        all.push(it.key);
        leafOf.push(it.block);
      }
      assert.ok(new Set(leafOf).size > 40, 'too few leaves to exercise moving between them');
      // Probes: every item's key, a key just above it (absent: floor is that item), and one just
      // below the first key of each leaf (floor is the previous leaf's last item).
      const probes: Array<{ k: Key; floor: number; exact: boolean }> = [];
      all.forEach((k, i) => {
        probes.push({ k, floor: i, exact: true });
        if (k.offset < U64_MAX && (i + 1 === all.length || compareKeys(key(k.objectid, k.type, k.offset + 1n), all[i + 1]!) < 0)) {
          probes.push({ k: key(k.objectid, k.type, k.offset + 1n), floor: i, exact: false });
        }
      });
      const random = lcg(42);
      for (let i = probes.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [probes[i], probes[j]] = [probes[j]!, probes[i]!];
      }
      // One tree object for all probes (its last path is reused), and a new one per probe for some.
      // The block cache is large enough for the whole tree, so rangeCached can always answer.
      const fresh = () => new Tree(fs.blocks, tree.root);
      for (const [n, p] of probes.entries()) {
        const t = n % 7 === 0 ? fresh() : tree;
        const what = formatKey(p.k);
        const floor = await t.floor(p.k);
        assert.ok(floor, `no floor for ${what}`);
        assert.equal(compareKeys(floor.key, all[p.floor]!), 0, `floor of ${what}`);
        assert.equal(floor.block, leafOf[p.floor], `floor of ${what}: wrong leaf`);
        assert.equal((await t.get(p.k)) !== undefined, p.exact, `get ${what}`);
        if (n % 50 === 0) {
          // A range starting here runs across leaves to the next three items.
          const got: Key[] = [];
          const stop = all[Math.min(all.length - 1, p.floor + 3)]!;
          for await (const it of t.range(p.k, stop)) got.push(it.key);
          const first = p.exact ? p.floor : p.floor + 1;
          const want = all.slice(first, p.floor + 4).map(formatKey);
          assert.deepEqual(got.map(formatKey), want, `range from ${what}`);
          // The same from cached blocks (the range just read them), within and over a limit.
          assert.deepEqual(t.rangeCached(p.k, stop, 10)?.map((it) => formatKey(it.key)), want, `rangeCached from ${what}`);
          if (want.length > 1) assert.equal(t.rangeCached(p.k, stop, want.length - 1), undefined, `rangeCached over its limit from ${what}`);
          const floorRange = t.rangeCached(p.k, stop, 10, true)?.map((it) => formatKey(it.key));
          assert.deepEqual(floorRange, all.slice(p.floor, p.floor + 4).map(formatKey), `rangeCached with floor from ${what}`);
        }
      }
    } finally {
      await fs.close();
    }
  });
});
