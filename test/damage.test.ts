// Reading through damage: fixtures with members removed, and with chosen sectors overwritten on some
// copies (private copies; the fixtures are never written), still read back exactly the kernel's
// manifest wherever the profile still holds a good copy; where it does not, the error is clear.

import assert from 'node:assert/strict';
import { ChecksumError, CorruptError, MissingDeviceError } from '../lib/errors.js';
import { CSUM_SIZE, KeyType, ObjectId } from '../lib/ondisk/constants.js';
import { key } from '../lib/ondisk/key.js';
import { open, type Btrfs } from '../lib/index.js';
import { loadManifest } from './helpers/fixtures.js';
import { runCli } from './helpers/cli.js';
import { dataSectors, garbage, manifestDiffs, placesOf, sha256, tempCopy, treeBlocks, writeAt, type Copy, type DataSector, type TempImage } from './damage-helpers.js';

function combinations(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  const out: number[][] = [];
  for (let first = 0; first <= n - k; first++) for (const rest of combinations(n - first - 1, k - 1)) out.push([first, ...rest.map((r) => r + first + 1)]);
  return out;
}

async function withCopy<T>(name: string, drop: number[], body: (t: TempImage) => Promise<T>): Promise<T> {
  const t = await tempCopy(name, drop);
  try {
    return await body(t);
  } finally {
    await t.cleanup();
  }
}

async function opened<T>(t: TempImage, body: (fs: Btrfs) => Promise<T>): Promise<T> {
  const fs = await open(t.paths[0]!);
  try {
    return await body(fs);
  } finally {
    await fs.close();
  }
}

function fileEntries(name: string) {
  return loadManifest(name).entries.filter((e) => e.type === 'file');
}

async function allDataSectors(fs: Btrfs, name: string): Promise<DataSector[]> {
  const out: DataSector[] = [];
  for (const e of fileEntries(name)) out.push(...(await dataSectors(fs, e.path)));
  return out;
}

function damage(c: Copy, length: number, seed: number): void {
  writeAt(c.device, c.physical, garbage(length, seed));
}

describe('damage: missing members', function () {
  this.timeout(600_000);

  // How many members each profile may lose and still hold every byte.
  const tolerates: Array<[string, number, number]> = [
    ['raid1', 2, 1], ['raid10', 4, 1], ['raid1c3', 3, 2], ['raid1c4', 4, 3], ['raid5', 3, 1], ['raid6', 4, 2],
  ];
  for (const [name, devices, lose] of tolerates) {
    for (const drop of combinations(devices, lose)) {
      it(`${name} without device(s) ${drop.map((d) => d + 1).join(', ')} opens degraded and reads back the manifest`, async () => {
        await withCopy(name, drop, (t) => opened(t, async (fs) => {
          assert.equal(fs.filesystem.missingDevices.length, lose);
          assert.deepEqual(await manifestDiffs(fs, name), []);
        }));
      });
    }
  }

  it('raid0 without a member opens, and what it cannot serve fails naming the missing devid and uuid', async () => {
    await withCopy('raid0', [1], async (t) => {
      let fs: Btrfs;
      try {
        fs = await open(t.paths[0]!);
      } catch (e) {
        // Metadata striped over the missing member: the open itself is what cannot be served.
        assert.ok(e instanceof MissingDeviceError, String(e));
        assert.match(e.message, /devid 2 uuid [0-9a-f-]{36}/);
        return;
      }
      try {
        const diffs = await manifestDiffs(fs, 'raid0');
        assert.ok(diffs.length > 0, 'a raid0 file larger than a stripe cannot be whole');
        for (const d of diffs) assert.match(d, /MissingDeviceError: .*devid 2 uuid [0-9a-f-]{36} is missing/);
      } finally {
        await fs.close();
      }
    });
  });
});

describe('damage: overwritten copies', function () {
  this.timeout(600_000);

  // Every data sector is damaged on every copy but one (which copy survives rotates with the
  // sector), and every tree block on every copy but the last.
  for (const name of ['dup', 'raid1', 'raid10', 'raid1c3', 'raid1c4']) {
    it(`${name}: all but one copy of each data sector and tree block overwritten, the manifest reads back`, async () => {
      await withCopy(name, [], async (t) => {
        const planted = await opened(t, async (fs) => {
          const sectors = await allDataSectors(fs, name);
          const blocks = await treeBlocks(fs.filesystem);
          return { sectors, blocks, nodesize: fs.filesystem.nodesize, sectorsize: fs.filesystem.sectorsize };
        });
        let n = 0;
        for (const s of planted.sectors) {
          const keep = n++ % s.copies.length;
          s.copies.forEach((c, i) => { if (i !== keep) damage(c, planted.sectorsize, n * 7 + i); });
        }
        for (const b of planted.blocks) b.copies.slice(0, -1).forEach((c, i) => damage(c, planted.nodesize, n++ + i));
        assert.ok(planted.sectors.length > 100);
        await opened(t, async (fs) => {
          assert.deepEqual(await manifestDiffs(fs, name), []);
          const problems = fs.filesystem.blocks.problems;
          assert.ok(problems.length > 0, 'bad tree block copies are recorded');
          const copies = planted.blocks[0]!.copies.length;
          for (const p of problems) assert.ok(p.location.mirror !== copies - 1, `${p.message}: the last copy of each block was left intact`);
          // Data copies read around are recorded too, each located at its file, address and copy.
          const bad = fs.filesystem.volume.badCopies;
          assert.ok(bad.length > 0, 'bad data copies are recorded');
          for (const e of bad) {
            assert.ok(e instanceof ChecksumError, String(e));
            assert.ok(e.location.path && e.location.logical !== undefined && e.location.mirror !== undefined, e.message);
          }
        });
      });
    });
  }

  it('raid5: a data stripe sector of every row offset overwritten (tree blocks too), rebuilt from P', async () => {
    await withCopy('raid5', [], async (t) => {
      const planted = await opened(t, async (fs) => ({
        sectors: await allDataSectors(fs, 'raid5'), blocks: await treeBlocks(fs.filesystem), S: fs.filesystem.sectorsize, nodesize: fs.filesystem.nodesize,
      }));
      // One lost member per row and offset is what P can rebuild.
      const hit = new Set<string>();
      let damaged = 0;
      for (const s of planted.sectors) {
        const id = `${s.row!.chunk.logical}:${s.row!.row}:${s.row!.inUnit}`;
        if (hit.has(id)) continue;
        hit.add(id);
        damage(s.copies[0]!, planted.S, damaged++);
      }
      for (const b of planted.blocks) damage(b.copies[0]!, planted.nodesize, damaged++);
      assert.ok(damaged > 100);
      await opened(t, async (fs) => assert.deepEqual(await manifestDiffs(fs, 'raid5'), []));
    });
  });

  it('raid6: two members lost per row offset (two data stripes, or a data stripe and P), rebuilt with P and Q', async () => {
    await withCopy('raid6', [], async (t) => {
      const planted = await opened(t, async (fs) => ({
        sectors: await allDataSectors(fs, 'raid6'), blocks: await treeBlocks(fs.filesystem), S: fs.filesystem.sectorsize, nodesize: fs.filesystem.nodesize,
      }));
      const lost = new Map<string, number>();
      let pairsOfData = 0;
      let withP = 0;
      let n = 0;
      let firstLosses = 0;
      for (const s of planted.sectors) {
        const row = s.row!;
        const id = `${row.chunk.logical}:${row.row}:${row.inUnit}`;
        const count = lost.get(id) ?? 0;
        if (count >= 2) continue;
        damage(s.copies[0]!, planted.S, n++);
        if (count === 0 && firstLosses++ % 2 === 0) {
          // And P at the same offset: only Q can bring this sector back.
          damage(row.members[row.members.length - 2]!, planted.S, n++);
          withP++;
          lost.set(id, 2);
        } else {
          if (count === 1) pairsOfData++;
          lost.set(id, count + 1);
        }
      }
      for (const b of planted.blocks) damage(b.copies[0]!, planted.nodesize, n++);
      assert.ok(pairsOfData > 10 && withP > 10, `${pairsOfData} rows lost two data stripes, ${withP} lost data and P`);
      await opened(t, async (fs) => assert.deepEqual(await manifestDiffs(fs, 'raid6'), []));
    });
  });

  it('a profile with one copy: the read fails naming logical and mirror; cat --ignore-errors zero-fills just that sector', async () => {
    await withCopy('basic', [], async (t) => {
      const path = '/extents/regular-1m';
      const target = await opened(t, async (fs) => (await dataSectors(fs, path))[5]!);
      damage(target.copies[0]!, 4096, 1);
      await opened(t, async (fs) => {
        await assert.rejects(fs.readFile(path), (e: unknown) => {
          assert.ok(e instanceof ChecksumError, String(e));
          assert.equal(e.location.logical, target.logical);
          assert.equal(e.location.mirror, 0);
          assert.equal(e.location.path, path);
          return true;
        });
      });
      const clean = loadManifest('basic').entries.find((e) => e.path === path)!;
      const cli = await runCli(['cat', '--ignore-errors', t.paths[0]!, path]);
      assert.equal(cli.code, 1, cli.stderr);
      assert.equal(cli.stdout.length, clean.size);
      const lines = cli.stderr.trim().split('\n');
      assert.equal(lines.length, 1, cli.stderr);
      assert.match(lines[0]!, new RegExp(`${path}: bytes ${target.fileOffset}-${target.fileOffset + 4095n} unreadable, zero-filled: data checksum mismatch`));
      const sector = cli.stdout.subarray(Number(target.fileOffset), Number(target.fileOffset) + 4096);
      assert.ok(sector.every((b) => b === 0), 'the lost sector reads as zeros');
      // Everything else is the file: the original with that sector zeroed hashes the same.
      const plain = await runCli(['cat', (await tempCopyPath('basic')), path]);
      const expected = Buffer.from(plain.stdout);
      expected.fill(0, Number(target.fileOffset), Number(target.fileOffset) + 4096);
      assert.equal(sha256(cli.stdout), sha256(expected));
      assert.equal(sha256(plain.stdout), clean.sha256);
    });
  });

  it('ls -R and extract --ignore-errors read around a tree leaf lost on both copies and list each problem', async () => {
    await withCopy('basic', [], async (t) => {
      const leaf = await opened(t, async (fs) => (await treeBlocks(fs.filesystem)).filter((b) => b.tree === 5n && b.level === 0)[3]!);
      for (const c of leaf.copies) damage(c, 4096, 9);
      const strict = await runCli(['ls', '-R', t.paths[0]!, '/']);
      assert.equal(strict.code, 4, 'without --ignore-errors the damage is an error');
      const ls = await runCli(['ls', '-R', '--ignore-errors', t.paths[0]!, '/']);
      assert.equal(ls.code, 1, ls.stderr);
      const listed = ls.stdout.toString().trim().split('\n');
      const problems = ls.stderr.trim().split('\n');
      const total = loadManifest('basic').entries.length;
      assert.ok(listed.length > total / 2 && listed.length < total, `${listed.length} of ${total} listed`);
      assert.ok(problems.length >= 1 && problems.every((l) => l.includes(`block=${leaf.bytenr}`)), ls.stderr);
      const out = `${t.dir}/out`;
      const extract = await runCli(['extract', '--ignore-errors', t.paths[0]!, '/', '-o', out]);
      assert.equal(extract.code, 1, extract.stderr);
      assert.match(extract.stderr, new RegExp(`block=${leaf.bytenr}`));
    });
  });
});

describe('damage: compressed extents that pass their checksums but not their decompressor', function () {
  this.timeout(600_000);

  for (const [name, path] of [['zlib', '/compress/text-1m'], ['lzo', '/compress/text-1m'], ['zstd', '/compress/text-1m']] as const) {
    it(`${name}: a garbled ${name} extent with forged data checksums fails as a CorruptError naming the file and the extent`, async () => {
      await withCopy(name, [], async (t) => {
        const plan = await opened(t, async (fs) => {
          const f = fs.filesystem;
          const { extents } = await fs.fileExtents(path);
          const x = extents.find((e) => e.extent.kind === 'regular' && e.extent.compression !== 0)!;
          assert.ok(x, `${path} has a compressed extent`);
          const e = x.extent as { diskBytenr: bigint; diskNumBytes: bigint };
          // The csum item holding the extent's first sector, and where its sum sits in the leaf.
          const csumTree = await f.tree(ObjectId.CSUM_TREE);
          const it = (await csumTree.floor(key(ObjectId.EXTENT_CSUM, KeyType.EXTENT_CSUM, e.diskBytenr)))!;
          const leaf = await f.blocks.read(it.block);
          const sumAt = leaf.items[it.slot]!.dataOffset + Number((e.diskBytenr - it.key.offset) / BigInt(f.sectorsize)) * f.checksummer.size;
          return {
            fileOffset: x.fileOffset, logical: e.diskBytenr, sector: placesOf(f, e.diskBytenr).copies,
            leaf: Buffer.from(leaf.buf), leafCopies: placesOf(f, it.block).copies, sumAt, checksummer: f.checksummer, S: f.sectorsize,
          };
        });
        // Garbage where the compressed stream starts, with its checksum forged to match.
        const bad = garbage(plan.S, 3);
        for (const c of plan.sector) writeAt(c.device, c.physical, bad);
        Buffer.from(plan.checksummer.digest(bad)).copy(plan.leaf, plan.sumAt);
        plan.leaf.fill(0, 0, CSUM_SIZE);
        Buffer.from(plan.checksummer.digest(plan.leaf.subarray(CSUM_SIZE))).copy(plan.leaf, 0);
        for (const c of plan.leafCopies) writeAt(c.device, c.physical, plan.leaf);
        await opened(t, async (fs) => {
          await assert.rejects(fs.readFile(path), (err: unknown) => {
            assert.ok(err instanceof CorruptError, `${err instanceof Error ? err.name : ''}: ${String(err)}`);
            assert.equal(err.location.path, path);
            assert.equal(err.location.logical, plan.logical);
            assert.equal(BigInt(err.location.fileOffset ?? -1), plan.fileOffset);
            return true;
          });
        });
        const cli = await runCli(['cat', t.paths[0]!, path]);
        assert.equal(cli.code, 4);
        assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
        assert.match(cli.stderr, new RegExp(`^btrfs-lens: .*path=${path} .*logical=${plan.logical}`));
      });
    });
  }
});

/** A clean sparse copy's first device path (kept for the process; the temp folder is small). */
const cleanCopies = new Map<string, string>();
async function tempCopyPath(name: string): Promise<string> {
  let p = cleanCopies.get(name);
  if (!p) {
    const t = await tempCopy(name);
    p = t.paths[0]!;
    cleanCopies.set(name, p);
    after(() => t.cleanup());
  }
  return p;
}
