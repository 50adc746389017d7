// `check` against planted damage: every clean fixture is clean, and in private copies with damage
// planted on chosen copies (a data sector, a tree block, a superblock copy, RAID5/6 parity, a missing
// member) every planted problem is reported at its device, physical offset, logical address and copy,
// with the file that owns damaged data, and nothing else is.

import assert from 'node:assert/strict';
import { checkImage, formatProblem, type CheckProblem } from '../lib/check/index.js';
import { SUPERBLOCK_OFFSETS } from '../lib/ondisk/constants.js';
import { open } from '../lib/index.js';
import { runCli } from './helpers/cli.js';
import { fixtureImages, fixtureNames, loadManifest } from './helpers/fixtures.js';
import { dataSectors, garbage, tempCopy, treeBlocks, writeAt, type Copy } from './damage-helpers.js';

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
    it(`${name}: finds every planted corruption on its copy, and nothing else`, async () => {
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
          // 1. A data sector on its last copy (for RAID5/6 the data stripe).
          const s = sectors[3]!;
          const c = s.copies.length - 1;
          writeAt(s.copies[c]!.device, s.copies[c]!.physical, garbage(S, 1));
          planted.push({
            what: `data sector ${s.logical} copy ${c}`,
            row: s.row && rowId(s.row),
            matches: (p) => p.kind === 'data' && p.logical === s.logical && p.mirror === c && at(p, s.copies[c]!) && p.length === BigInt(S)
              && p.repairable === (s.copies.length > 1 || s.row !== undefined)
              && (p.files ?? []).some((o) => o.path === s.path && o.fileOffset === s.fileOffset),
          });
          // 2. A tree leaf on its last copy: a subvolume tree leaf where another copy keeps the files
          // resolvable, else a leaf no file depends on (the UUID or free space tree).
          const blocks = await treeBlocks(f);
          const redundant = s.copies.length > 1 || s.row !== undefined;
          const tree = redundant ? 5n : blocks.some((b) => b.tree === 9n) ? 9n : 10n;
          const leaf = blocks.filter((b) => b.tree === tree && b.level === 0).at(-1)!;
          const lc = leaf.copies.length - 1;
          writeAt(leaf.copies[lc]!.device, leaf.copies[lc]!.physical + 64n, garbage(512, 2));
          planted.push({
            what: `tree block ${leaf.bytenr} copy ${lc}`,
            row: leaf.row && rowId(leaf.row),
            matches: (p) => p.kind === 'tree-block' && p.logical === leaf.bytenr && p.mirror === lc && at(p, leaf.copies[lc]!) && p.tree === tree
              && p.repairable === (leaf.copies.length > 1 || leaf.row !== undefined),
          });
          if (leaf.copies.length === 1 && !leaf.row) {
            planted.push({ what: `tree ${tree} losing block ${leaf.bytenr}`, matches: (p) => p.kind === 'tree' && p.logical === leaf.bytenr && p.tree === tree });
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

  it('a missing member is reported, and the copies left are checked', async () => {
    const t = await tempCopy('raid1', [1]);
    try {
      const r = await checkImage([t.paths[0]!]);
      assert.deepEqual(r.problems.map((p) => [p.kind, p.devid]), [['device', 2n]]);
      assert.match(r.problems[0]!.message, /device devid 2 uuid [0-9a-f-]{36} is missing/);
      assert.equal(r.stats.missingDevices, 1);
      assert.ok(r.stats.skippedCopies > 0 && r.stats.dataSectorCopies === r.stats.dataSectors);
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
