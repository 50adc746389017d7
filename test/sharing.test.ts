// `sharing`: the pair matrix, the histogram and the memory figures, each checked against a computation
// that does not go through the extent tree's back references:
// - the matrix against every subvolume tree's own EXTENT_DATA items (intersected pairwise);
// - the histogram against the data extents btrfs-progs' dump-tree lists, and its reference total
//   against the number of file extent items the subvolume trees hold;
// - the memory figures against the manifest's file sizes and a page-by-page count over `map`;
// - snapshot pairs share at least everything the manifest says is unchanged in both.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { extentMap } from '../lib/fs/extent-map.js';
import { open, type Btrfs } from '../lib/index.js';
import { KeyType } from '../lib/ondisk/constants.js';
import { decodeFileExtent } from '../lib/ondisk/items/file-extent.js';
import { key, U64_MAX } from '../lib/ondisk/key.js';
import { intersectBytes, mergeRanges, rangeBytes, sharing, type Range, type SharingReport } from '../lib/usage/sharing.js';
import { runCli } from './helpers/cli.js';
import { FIXTURES_DIR, fixtureImages, fixtureNames, loadManifest } from './helpers/fixtures.js';

async function openFixture(name: string): Promise<Btrfs> {
  const images = await fixtureImages(name);
  const part = loadManifest(name).partition;
  return open(images[0]!, { devices: images.slice(1), ...(part ? { partition: part.number } : {}) });
}

/** Per subvolume, the logical ranges its EXTENT_DATA items reference, and how many such items it holds. */
async function fromSubvolumeTrees(btrfs: Btrfs, ids: bigint[]): Promise<{ ranges: Range[][]; items: number }> {
  const ranges: Range[][] = [];
  let items = 0;
  for (const id of ids) {
    const tree = await btrfs.tree(id);
    const mine: Range[] = [];
    for await (const it of tree.range(key(0n, 0, 0n), key(U64_MAX, 255, U64_MAX))) {
      if (it.key.type !== KeyType.EXTENT_DATA) continue;
      const e = decodeFileExtent(it.data);
      if (e.kind === 'inline' || e.diskBytenr === 0n) continue;
      items++;
      mine.push(e.compression !== 0 ? [e.diskBytenr, e.diskBytenr + e.diskNumBytes] : [e.diskBytenr + e.offset, e.diskBytenr + e.offset + e.numBytes]);
    }
    ranges.push(mergeRanges(mine));
  }
  return { ranges, items };
}

/** Data extents in btrfs-progs' dump of the extent tree. */
function dumpTreeDataExtents(name: string): number {
  const lines = gunzipSync(fs.readFileSync(path.join(FIXTURES_DIR, name, 'dump-tree.txt.gz'))).toString('utf8').split('\n');
  let n = 0;
  for (let i = 0; i + 1 < lines.length; i++) {
    if (/^\titem \d+ key \(\d+ EXTENT_ITEM \d+\)/.test(lines[i]!) && /flags DATA/.test(lines[i + 1]!)) n++;
  }
  return n;
}

describe('sharing', () => {
  for (const name of fixtureNames()) {
    describe(name, () => {
      let btrfs: Btrfs;
      let report: SharingReport;
      before(async () => {
        btrfs = await openFixture(name);
        report = await sharing(btrfs);
      });
      after(async () => btrfs?.close());

      it('pair matrix equals the one computed from the subvolume trees', async () => {
        const ids = report.subvolumes.map((s) => s.id);
        const { ranges } = await fromSubvolumeTrees(btrfs, ids);
        const want = ranges.map((a, i) => ranges.map((b, j) => (i === j ? rangeBytes(a) : intersectBytes(a, b))));
        assert.deepEqual(report.matrix, want);
      });

      it('histogram: one row per reference count, totals equal the data extents and the file extent items', async () => {
        const extents = report.histogram.reduce((n, h) => n + h.extents, 0);
        assert.equal(extents, report.dataExtents);
        assert.equal(report.dataExtents, dumpTreeDataExtents(name));
        const { items } = await fromSubvolumeTrees(btrfs, report.subvolumes.map((s) => s.id));
        assert.equal(report.histogram.reduce((n, h) => n + h.references * h.extents, 0), items);
        assert.deepEqual(report.histogram.map((h) => h.references), [...new Set(report.histogram.map((h) => h.references))].sort((a, b) => a - b));
      });

      it('memory: per-inode pages from the manifest sizes, logical pages counted page by page over map', async () => {
        const m = loadManifest(name);
        const S = BigInt(m.sectorsize);
        const files = new Map<string, { path: string; size: number }>();
        for (const e of m.entries) if (e.type === 'file' && !files.has(`${e.subvol}:${e.ino}`)) files.set(`${e.subvol}:${e.ino}`, e);
        assert.equal(report.memory.files, files.size);
        let perInode = 0n;
        let perInodeOnly = 0n;
        const shared = new Set<string>();
        for (const f of files.values()) {
          const pages = (BigInt(f.size) + S - 1n) / S;
          perInode += pages;
          if (pages === 0n) continue;
          const { extents } = await extentMap(btrfs, f.path);
          for (let p = 0n; p < pages; p++) {
            const x = extents.find((e) => e.fileOffset <= p * S && p * S < e.fileOffset + e.length)!;
            if (x.kind !== 'regular') perInodeOnly++;
            else if (x.compression !== 'none') shared.add(`C${x.logical}:${(x.extentOffset + p * S - x.fileOffset) / S}`);
            else shared.add(`L${x.logical! + x.extentOffset + p * S - x.fileOffset}`);
          }
        }
        assert.equal(report.memory.perInodePages, perInode);
        assert.equal(report.memory.logicalPages, BigInt(shared.size) + perInodeOnly);
        assert.equal(report.memory.perInodeBytes, perInode * S);
      });
    });
  }

  it('snapshot pairs share at least what the manifest says is unchanged in both', async () => {
    for (const [name, pairs] of [['snapshots', [[256, 259], [256, 260], [259, 260]]], ['quota', [[256, 258]]]] as const) {
      const m = loadManifest(name);
      const btrfs = await openFixture(name);
      try {
        const report = await sharing(btrfs);
        const at = (id: number) => report.subvolumes.findIndex((s) => s.id === BigInt(id));
        const prefix = (id: number) => `/${m.subvolumes.find((s) => s.id === id)!.path}/`;
        for (const [a, b] of pairs) {
          const unchanged: Range[] = [];
          for (const e of m.entries) {
            if (e.type !== 'file' || e.subvol !== b || !e.path.startsWith(prefix(b))) continue;
            const twin = m.entries.find((x) => x.subvol === a && x.path === prefix(a) + e.path.slice(prefix(b).length));
            if (!twin || twin.sha256 !== e.sha256) continue;
            for (const x of (await extentMap(btrfs, e.path)).extents) {
              if (x.logical === null || x.kind === 'hole') continue;
              unchanged.push(x.compression !== 'none' ? [x.logical, x.logical + x.diskLength] : [x.logical + x.extentOffset, x.logical + x.extentOffset + x.length]);
            }
          }
          const floor = rangeBytes(mergeRanges(unchanged));
          const got = report.matrix[at(a)]![at(b)]!;
          // (quota's a-snap: a/inline is unchanged but inline, a/text-256k was partly rewritten.)
          if (name === 'snapshots') assert.ok(floor > 0n, `${name}: ${a} and ${b} have unchanged files with extents`);
          assert.ok(got >= floor, `${name}: subvolumes ${a} and ${b} share ${got} bytes, less than the ${floor} of their unchanged files`);
          assert.ok(got <= report.matrix[at(a)]![at(a)]! && got <= report.matrix[at(b)]![at(b)]!);
          assert.equal(report.matrix[at(a)]![at(b)], report.matrix[at(b)]![at(a)]);
        }
      } finally {
        await btrfs.close();
      }
    }
  });

  it('CLI: text, JSON and an SVG heat map with every label and value', async () => {
    const images = await fixtureImages('snapshots');
    const svgFile = path.join(FIXTURES_DIR, '.cache', `sharing-${process.pid}.svg`);
    try {
      const r = await runCli(['sharing', images[0]!, '--svg', svgFile]);
      assert.equal(r.code, 0, r.stderr);
      const out = r.stdout.toString('utf8');
      assert.match(out, /^Bytes referenced by files of both subvolumes/);
      assert.match(out, /Data extents by number of referencing file ranges \(10 extents\)/);
      assert.match(out, /per-inode policy: \d+ pages/);
      const svg = fs.readFileSync(svgFile, 'utf8');
      assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      for (const label of ['5 (top level)', '256 vol', '257 vol/nested', '258 dir/in-dir', '259 snap-ro', '260 snap-rw']) assert.ok(svg.includes(`>${label}</text>`), label);
      const j = JSON.parse((await runCli(['sharing', images[0]!, '--json'])).stdout.toString('utf8')) as { matrix: string[][]; subvolumes: unknown[] };
      assert.equal(j.matrix.length, j.subvolumes.length);
      assert.equal((svg.match(/<rect x=/g) ?? []).length, j.matrix.length ** 2 + 1);
      const bad = await runCli(['sharing', images[0]!, '--svg', '/nonexistent-dir/x.svg']);
      assert.equal(bad.code, 5);
      assert.match(bad.stderr, /cannot write \/nonexistent-dir\/x.svg/);
    } finally {
      fs.rmSync(svgFile, { force: true });
    }
  });
});
