// Damaged images through the back reference walks: seeded single-byte mutations of tree blocks (the
// extent tree, the subvolume trees and the root tree), each written to every copy of the block with
// its checksum recomputed, so the damage gets past checksums into decoders, the tree-checker and the
// walks themselves. du, compsize, sharing and logical-resolve may fail, but only with the library's
// typed errors, and they must finish.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BackrefContext } from '../lib/backref/context.js';
import { logicalResolve } from '../lib/backref/logical-resolve.js';
import { loadChecksummer } from '../lib/checksum/index.js';
import { isBtrfsError, open } from '../lib/index.js';
import { HEADER_SIZE, parseTreeBlock } from '../lib/ondisk/node.js';
import { compsize } from '../lib/usage/compsize.js';
import { du } from '../lib/usage/du.js';
import { sharing } from '../lib/usage/sharing.js';
import { FIXTURES_CACHE_DIR, fixtureImages } from './helpers/fixtures.js';
import { prng as rng } from './helpers/prng.js';
import { sharedSubtreesImage } from './resolve-shared-subtrees.test.js';


interface Target {
  logical: bigint;
  physical: bigint[];
}

for (const [name, mutations] of [['snapshots', 60], ['zlib', 60], ['shared-subtrees', 150]] as const) {
  describe(`resolve: seeded damage to ${name}'s tree blocks`, function () {
    this.timeout(300_000);
    const copy = path.join(FIXTURES_CACHE_DIR, `hostile-${name}-${process.pid}.img`);
    const targets: Target[] = [];
    const probes: bigint[] = [];
    let nodesize = 0;

    before(async () => {
      const img = name === 'shared-subtrees' ? await sharedSubtreesImage() : (await fixtureImages(name))[0]!;
      fs.copyFileSync(img, copy);
      const btrfs = await open(copy);
      try {
        const f = btrfs.filesystem;
        nodesize = f.nodesize;
        const ids = [2n, 1n, 5n, ...(await btrfs.subvolumes()).map((s) => s.id)];
        for (const id of ids) {
          const tree = id === 1n ? f.rootTree : await f.tree(id);
          for await (const b of tree.blocks()) {
            targets.push({ logical: b.header.bytenr, physical: f.volume.places(b.header.bytenr).map((p) => p.physical) });
          }
        }
        const ctx = await BackrefContext.create(f);
        for await (const it of ctx.extentTree.range({ objectid: 0n, type: 0, offset: 0n }, { objectid: 2n ** 64n - 1n, type: 255, offset: 2n ** 64n - 1n })) {
          if (it.key.type === 168) probes.push(it.key.objectid, it.key.objectid + 4096n);
        }
      } finally {
        await btrfs.close();
      }
      assert.ok(targets.length >= 3 && probes.length > 3, `${targets.length} blocks, ${probes.length} probes`);
    });
    after(() => fs.rmSync(copy, { force: true }));

    it(`${mutations} mutations: only typed errors, every run finishes`, async () => {
      const crc = await loadChecksummer(0);
      const fd = fs.openSync(copy, 'r+');
      const outcomes = new Map<string, number>();
      try {
        for (let seed = 1; seed <= mutations; seed++) {
          const r = rng(seed);
          const t = targets[Math.floor(r() * targets.length)]!;
          const original = Buffer.alloc(nodesize);
          fs.readSync(fd, original, 0, nodesize, Number(t.physical[0]!));
          const block = Buffer.from(original);
          // Damage where the block has content: its item or pointer array, or its item data.
          const parsed = parseTreeBlock(original);
          const arrayEnd = HEADER_SIZE + (parsed.level === 0 ? 25 : 33) * parsed.items.length + (parsed.level === 0 ? 0 : 33 * parsed.ptrs.length);
          const dataStart = parsed.items.reduce((m, i) => Math.min(m, i.dataOffset), nodesize);
          const used = arrayEnd - HEADER_SIZE + (nodesize - dataStart);
          let at = HEADER_SIZE + Math.floor(r() * Math.max(1, used));
          if (at >= arrayEnd) at = dataStart + (at - arrayEnd);
          block[at] = (block[at]! + 1 + Math.floor(r() * 255)) & 0xff;
          Buffer.from(crc.digest(block.subarray(32))).copy(block, 0);
          for (const p of t.physical) fs.writeSync(fd, block, 0, nodesize, Number(p));
          try {
            const outcome = await exercise(copy, probes);
            outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          } catch (e) {
            assert.fail(`seed ${seed} (block ${t.logical}, byte ${at}): ${e instanceof Error ? e.stack : String(e)}`);
          } finally {
            for (const p of t.physical) fs.writeSync(fd, original, 0, nodesize, Number(p));
          }
        }
      } finally {
        fs.closeSync(fd);
      }
      assert.ok([...outcomes.values()].reduce((a, b) => a + b, 0) === mutations, JSON.stringify([...outcomes]));
    });
  });
}

/** Run everything; a BtrfsError ends a step, anything else is thrown. Returns a summary. */
async function exercise(image: string, probes: bigint[]): Promise<string> {
  const errors: string[] = [];
  const step = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      if (!isBtrfsError(e)) throw e;
      errors.push(`${what}:${e.code}`);
    }
  };
  let btrfs: Awaited<ReturnType<typeof open>> | undefined;
  await step('open', async () => {
    btrfs = await open(image);
  });
  if (!btrfs) return errors.join(',');
  try {
    const b = btrfs;
    await step('du', () => du(b, '.'));
    await step('compsize', () => compsize(b, ['/']));
    await step('sharing', () => sharing(b));
    await step('logical-resolve', async () => {
      const ctx = await BackrefContext.create(b.filesystem);
      for (const p of probes.slice(0, 24)) await logicalResolve(ctx, p);
    });
  } finally {
    await btrfs.close();
  }
  return errors.join(',') || 'ok';
}
