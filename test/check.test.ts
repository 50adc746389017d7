// `check` against planted damage: every clean fixture is clean, and in private copies with damage
// planted on chosen copies (a data sector, a tree block, a superblock copy, RAID5/6 parity, a missing
// member) every planted problem is reported at its device, physical offset, logical address and copy,
// with the file that owns damaged data, and nothing else is.

import assert from 'node:assert/strict';
import { checkImage, formatProblem, type CheckProblem } from '../lib/check/index.js';
import { KeyType, ObjectId, SUPERBLOCK_OFFSETS } from '../lib/ondisk/constants.js';
import { key, U64_MAX } from '../lib/ondisk/key.js';
import { open } from '../lib/index.js';
import { runCli } from './helpers/cli.js';
import { fixtureImages, fixtureNames, loadManifest } from './helpers/fixtures.js';
import { dataSectors, garbage, placesOf, tempCopy, treeBlocks, writeAt, type Copy } from './damage-helpers.js';

interface Planted {
  what: string;
  matches(p: CheckProblem): boolean;
  /** RAID5/6 rows whose parity this damage leaves inconsistent: parity problems there are expected. */
  row?: string;
}

const at = (p: CheckProblem, c: Copy) => p.devid === c.devid && p.physical === c.physical && p.device === c.device;

describe('check: clean fixtures', function () {
  this.timeout(600_000);
  for (const name of fixtureNames()) {
    it(`${name} has no problems`, async () => {
      const images = await fixtureImages(name);
      const r = await checkImage([images[0]!]);
      assert.deepEqual(r.problems.map(formatProblem), []);
      assert.equal(r.clean, true);
      assert.ok(r.stats.treeBlocks > 0 && r.stats.treeBlockCopies >= r.stats.treeBlocks);
      assert.equal(r.stats.devices, loadManifest(name).devices.length);
    });
  }

  it('the CLI exits 0 on a clean image and prints its report as JSON', async () => {
    const images = await fixtureImages('raid1c3');
    const cli = await runCli(['check', '--json', images[0]!]);
    assert.equal(cli.code, 0, cli.stderr);
    const r = JSON.parse(cli.stdout.toString()) as { clean: boolean; problems: unknown[]; stats: { dataSectorCopies: number; dataSectors: number } };
    assert.equal(r.clean, true);
    assert.deepEqual(r.problems, []);
    assert.equal(r.stats.dataSectorCopies, 3 * r.stats.dataSectors);
  });
});

describe('check: planted damage', function () {
  this.timeout(600_000);

  for (const name of ['basic', 'dup', 'raid0', 'raid1', 'raid10', 'raid1c3', 'raid1c4', 'raid5', 'raid6', 'node4k']) {
    it(`${name}: finds every planted corruption on each copy, and nothing else`, async () => {
      const t = await tempCopy(name);
      try {
        const planted: Planted[] = [];
        const fs = await open(t.paths[0]!);
        const f = fs.filesystem;
        const S = f.sectorsize;
        const rowId = (r: { chunk: { logical: bigint }; row: bigint }) => `${r.chunk.logical}:${r.row}`;
        try {
          const files = loadManifest(name).entries.filter((e) => e.type === 'file').sort((a, b) => b.size - a.size);
          const sectors = await dataSectors(fs, files[0]!.path);
          // 1. A data sector on each copy (for RAID5/6 the data stripe): a different sector per copy.
          const copies = sectors[0]!.copies.length;
          const redundant = copies > 1 || sectors[0]!.row !== undefined;
          const s = sectors[3]!;
          for (let c = 0; c < copies; c++) {
            const d = sectors[3 + 2 * c]!;
            writeAt(d.copies[c]!.device, d.copies[c]!.physical, garbage(S, 1 + c));
            planted.push({
              what: `data sector ${d.logical} copy ${c}`,
              row: d.row && rowId(d.row),
              matches: (p) => p.kind === 'data' && p.logical === d.logical && p.mirror === c && at(p, d.copies[c]!) && p.length === BigInt(S)
                && p.repairable === redundant
                && (p.files ?? []).some((o) => o.path === d.path && o.fileOffset === d.fileOffset),
            });
          }
          // 2. A tree leaf on each copy, a different tree per copy. Without redundancy, a leaf no file
          // depends on (the UUID or free space tree), so the files stay resolvable.
          const blocks = await treeBlocks(f);
          const metaRedundant = blocks[0]!.copies.length > 1 || blocks[0]!.row !== undefined;
          const order = metaRedundant ? [5n, 2n, 7n, 4n, 9n, 10n, 1n] : [9n, 10n];
          const leaves = order.flatMap((id) => blocks.filter((b) => b.tree === id && b.level === 0).slice(-1));
          for (let c = 0; c < leaves[0]!.copies.length; c++) {
            const leaf = leaves[c]!;
            writeAt(leaf.copies[c]!.device, leaf.copies[c]!.physical + 64n, garbage(512, 10 + c));
            planted.push({
              what: `tree block ${leaf.bytenr} (tree ${leaf.tree}) copy ${c}`,
              row: leaf.row && rowId(leaf.row),
              matches: (p) => p.kind === 'tree-block' && p.logical === leaf.bytenr && p.mirror === c && at(p, leaf.copies[c]!) && p.tree === leaf.tree
                && p.repairable === metaRedundant,
            });
            if (!metaRedundant) planted.push({ what: `tree ${leaf.tree} losing block ${leaf.bytenr}`, matches: (p) => p.kind === 'tree' && p.logical === leaf.bytenr && p.tree === leaf.tree });
          }
          // 3. The first superblock backup of the first device, when the device is large enough to hold one.
          const dev0 = [...f.devices.devices.values()].sort((a, b) => (a.devid < b.devid ? -1 : 1))[0]!;
          const backup = SUPERBLOCK_OFFSETS[1]!;
          if (BigInt(dev0.source.size) >= backup + 4096n) {
            writeAt(dev0.source.name, backup + 300n, garbage(100, 3));
            planted.push({ what: 'superblock copy 1', matches: (p) => p.kind === 'superblock' && p.devid === dev0.devid && p.physical === backup && p.mirror === 1 });
          }
          // 4. RAID5/6: parity of another row in use (P, and Q for RAID6), in a sector that protects data.
          const other = sectors.find((x) => x.row && rowId(x.row) !== rowId(s.row!) && x.row.inUnit !== s.row!.inUnit);
          if (other?.row) {
            const k = other.row.members.length - (name === 'raid6' ? 2 : 1);
            for (const [label, member] of [['P', k], ...(name === 'raid6' ? [['Q', k + 1]] : [])] as Array<[string, number]>) {
              const m = other.row.members[member]!;
              writeAt(m.device, m.physical, garbage(S, 4 + member));
              planted.push({ what: `${label} of row ${rowId(other.row)}`, matches: (p) => p.kind === 'parity' && at(p, m) && p.message.startsWith(label) });
            }
          }
        } finally {
          await fs.close();
        }
        const r = await checkImage([t.paths[0]!]);
        const shown = r.problems.map(formatProblem).join('\n  ');
        for (const p of planted) assert.ok(r.problems.some(p.matches), `${p.what} not reported; got:\n  ${shown}`);
        const rows = new Set(planted.flatMap((p) => (p.row ? [p.row] : [])));
        for (const p of r.problems) {
          const explained = planted.some((x) => x.matches(p)) || (p.kind === 'parity' && [...rows].some((row) => p.logical === BigInt(row.split(':')[0]!) + 0n || rowOf(p, row)));
          assert.ok(explained, `unexpected problem: ${formatProblem(p)}`);
        }
        assert.equal(r.clean, false);
        // The CLI says the same, one line per problem, and exits 1.
        const cli = await runCli(['check', t.paths[0]!]);
        assert.equal(cli.code, 1, `exit ${cli.code}: ${cli.stderr}\n${cli.stdout.toString()}`);
        const lines = cli.stdout.toString().trim().split('\n');
        assert.equal(lines.length, r.problems.length + 1);
        assert.match(lines.at(-1)!, new RegExp(`${r.problems.length} problem\\(s\\)$`));
      } finally {
        await t.cleanup();
      }
    });
  }

  for (const [name, drop, devid] of [['raid1', 1, 2n], ['raid10', 2, 3n], ['raid5', 1, 2n], ['raid6', 0, 1n]] as const) {
    it(`${name} without devid ${devid}: the missing member is the only problem, and the copies left are checked`, async () => {
      const t = await tempCopy(name, [drop]);
      try {
        const r = await checkImage([t.paths[0]!]);
        assert.deepEqual(r.problems.map((p) => [p.kind, p.devid]), [['device', devid]], r.problems.map(formatProblem).join('\n'));
        assert.match(r.problems[0]!.message, new RegExp(`device devid ${devid} uuid [0-9a-f-]{36} is missing`));
        assert.equal(r.stats.missingDevices, 1);
        assert.ok(r.stats.skippedCopies > 0 && r.stats.dataSectorCopies > 0);
      } finally {
        await t.cleanup();
      }
    });
  }

  it('the files owning damaged data are found even when the extent tree leaf that knows is lost', async () => {
    const t = await tempCopy('basic');
    try {
      const fs = await open(t.paths[0]!);
      const path = '/extents/regular-1m';
      let sector;
      try {
        sector = (await dataSectors(fs, path))[7]!;
        const extentTree = await fs.filesystem.tree(ObjectId.EXTENT_TREE);
        const hit = (await extentTree.floor(key(sector.logical, KeyType.EXTENT_ITEM, U64_MAX)))!;
        for (const c of placesOf(fs.filesystem, hit.block).copies) writeAt(c.device, c.physical + 200n, garbage(300, 6));
      } finally {
        await fs.close();
      }
      writeAt(sector.copies[0]!.device, sector.copies[0]!.physical, garbage(4096, 7));
      const r = await checkImage([t.paths[0]!]);
      const data = r.problems.filter((p) => p.kind === 'data');
      assert.equal(data.length, 1, r.problems.map(formatProblem).join('\n'));
      assert.deepEqual(data[0]!.files?.map((f) => [f.path, f.fileOffset]), [[path, sector.fileOffset]]);
      assert.ok(r.problems.some((p) => p.kind === 'tree' && p.tree === ObjectId.EXTENT_TREE), 'the lost leaf is reported too');
    } finally {
      await t.cleanup();
    }
  });

  it('a damaged primary superblock: the filesystem is checked from a backup and the primary reported', async () => {
    const t = await tempCopy('basic');
    try {
      writeAt(t.paths[0]!, SUPERBLOCK_OFFSETS[0]! + 100n, garbage(64, 5));
      const r = await checkImage([t.paths[0]!]);
      assert.equal(r.superblockMirror, 1);
      assert.deepEqual(r.problems.map((p) => [p.kind, p.physical, p.code]), [['superblock', SUPERBLOCK_OFFSETS[0], 'EBTRFSCSUM']]);
      assert.ok(r.stats.treeBlocks > 0);
    } finally {
      await t.cleanup();
    }
  });
});

/** Is parity problem `p` in RAID5/6 row "chunk:row"? Its logical is the row's first byte. */
function rowOf(p: CheckProblem, row: string): boolean {
  const [chunk, r] = row.split(':').map(BigInt) as [bigint, bigint];
  return p.logical !== undefined && p.length !== undefined && p.logical === chunk + r * p.length;
}
