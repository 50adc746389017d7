// Offline logical-resolve and inode-resolve, checked three ways:
// - against what the kernel answered on the mounted fixture (fixtures/<name>/progs-resolve/, recorded by
//   fixtures/record-resolve.sh with btrfs inspect-internal logical-resolve -P / -o -P and inode-resolve);
// - against `map`: every regular and prealloc extent of every file resolves back to that file at that
//   file offset, and every data extent of the extent tree to the files of the manifest;
// - against the manifests: every name of every inode, as many names as links.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BackrefContext } from '../lib/backref/context.js';
import { dataRefItems } from '../lib/backref/data-refs.js';
import { extentRecordAt } from '../lib/backref/extent-record.js';
import { inodeNames } from '../lib/backref/inode-paths.js';
import { fileRangesOf, logicalResolve } from '../lib/backref/logical-resolve.js';
import { rootsOfBlock } from '../lib/backref/roots.js';
import { extentMap } from '../lib/fs/extent-map.js';
import { walk } from '../lib/fs/walk.js';
import { open, type Btrfs } from '../lib/index.js';
import { ExtentFlag, KeyType } from '../lib/ondisk/constants.js';
import { decodeExtentItem } from '../lib/ondisk/items/extent-item.js';
import { key, U64_MAX } from '../lib/ondisk/key.js';
import { runCli } from './helpers/cli.js';
import { FIXTURES_DIR, fixtureImages, fixtureNames, loadManifest } from './helpers/fixtures.js';

async function openFixture(name: string): Promise<Btrfs> {
  const images = await fixtureImages(name);
  const part = loadManifest(name).partition;
  return open(images[0]!, { devices: images.slice(1), ...(part ? { partition: part.number } : {}) });
}

async function imageArgs(name: string): Promise<string[]> {
  const images = await fixtureImages(name);
  const m = loadManifest(name);
  const args = [images[0]!, ...images.slice(1).flatMap((d) => ['--device', d])];
  if (m.partition) args.push('--partition', String(m.partition.number));
  return args;
}

interface Answer {
  rc: number;
  out: string[];
}

/** progs-resolve file: "@ <what> rc=N" headers, stdout lines, stderr lines prefixed "! ". */
function parseAnswers(file: string): Map<string, Answer> {
  const answers = new Map<string, Answer>();
  let cur: Answer | undefined;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const h = /^@ (.+) rc=(\d+)$/.exec(line);
    if (h) {
      cur = { rc: Number(h[2]), out: [] };
      answers.set(h[1]!, cur);
    } else if (cur && !line.startsWith('! ')) cur.out.push(line);
  }
  return answers;
}

const sorted = (xs: string[]) => [...xs].sort();

/**
 * Would these paths overflow the 4096-byte btrfs_data_container btrfs-progs' inode-resolve passes to
 * BTRFS_IOC_INO_PATHS? 16 bytes of header, then per path an 8-byte offset and the path (relative to
 * the subvolume, NUL-terminated).
 */
function truncated(paths: string[]): boolean {
  let bytes = 16;
  for (const p of paths) bytes += 8 + Buffer.byteLength(p.slice(1)) + 1;
  return bytes > 4096;
}

/** Subvolume paths from the top level ("" for 5). */
function subvolPaths(name: string): Map<number, string> {
  return new Map([[5, ''], ...loadManifest(name).subvolumes.map((s) => [s.id, s.path] as [number, string])]);
}

describe('resolve', () => {
  for (const name of fixtureNames()) {
    describe(name, () => {
      let btrfs: Btrfs;
      let ctx: BackrefContext;
      before(async () => {
        btrfs = await openFixture(name);
        ctx = await BackrefContext.create(btrfs.filesystem);
      });
      after(async () => btrfs?.close());

      it('logical-resolve answers what the kernel answered (progs-resolve/logical.txt)', async () => {
        const answers = parseAnswers(path.join(FIXTURES_DIR, name, 'progs-resolve', 'logical.txt'));
        const addresses = [...answers.keys()].filter((k) => k.endsWith(' P')).map((k) => BigInt(k.split(' ')[0]!));
        assert.ok(addresses.length > 3, 'recorded answers');
        const diffs: string[] = [];
        for (const a of addresses) {
          const kernel = answers.get(`${a} P`)!;
          const kernelAll = answers.get(`${a} oP`)!;
          const res = await logicalResolve(ctx, a);
          if (kernel.rc !== 0) {
            // ENOENT: no data extent holds the address (unallocated, or a tree block).
            if (res.kind === 'data') diffs.push(`${a}: kernel found no data extent, we found ${res.extent.bytenr}`);
            continue;
          }
          if (res.kind !== 'data') {
            diffs.push(`${a}: kernel resolved it, we say ${res.kind}`);
            continue;
          }
          const ours = sorted(res.hits.map((h) => `inode ${h.ino} offset ${h.fileOffset} root ${h.subvol}`));
          const theirs = sorted(kernel.out);
          if (ours.join('\n') !== theirs.join('\n')) diffs.push(`${a}: hits ${JSON.stringify(ours)}, kernel ${JSON.stringify(theirs)}`);
          if ((kernel.out.length === 0) !== res.bookend) diffs.push(`${a}: bookend ${res.bookend}, kernel listed ${kernel.out.length} ranges`);
          const oursAll = sorted(res.references.map((h) => `inode ${h.ino} offset ${h.itemOffset} root ${h.subvol}`));
          if (oursAll.join('\n') !== sorted(kernelAll.out).join('\n')) diffs.push(`${a}: -o ${JSON.stringify(oursAll)}, kernel ${JSON.stringify(sorted(kernelAll.out))}`);
        }
        assert.deepEqual(diffs, []);
      });

      it('inode-resolve answers what the kernel answered (progs-resolve/inode.txt)', async () => {
        const answers = parseAnswers(path.join(FIXTURES_DIR, name, 'progs-resolve', 'inode.txt'));
        assert.ok(answers.size > 0);
        const diffs: string[] = [];
        for (const [q, kernel] of answers) {
          const [subvol, ino] = q.split(' ').slice(0, 2).map((x) => BigInt(x));
          assert.equal(kernel.rc, 0, `${q}: the kernel failed`);
          const found = await btrfs.filesystem.rootItem(subvol!);
          const names = await inodeNames(btrfs.filesystem, subvol!, ino!);
          // For a subvolume's root directory the kernel prints the name of its ".." INODE_REF.
          const ours = sorted(names.map((n) => (n.path === '/' ? './..' : `.${n.path}`)));
          const theirs = sorted(kernel.out);
          if (ino === found!.item.root_dirid || !truncated(names.map((n) => n.path))) {
            if (ours.join('\n') !== theirs.join('\n')) diffs.push(`${q}: ${JSON.stringify(ours)}, kernel ${JSON.stringify(theirs)}`);
          } else {
            // The kernel filled btrfs-progs' 4 KiB buffer and dropped the rest: a subset of ours.
            const extra = theirs.filter((l) => !ours.includes(l));
            if (extra.length || theirs.length >= ours.length) diffs.push(`${q}: kernel listed ${JSON.stringify(extra)} beyond ours, or as many`);
          }
        }
        assert.deepEqual(diffs, []);
      });

      it('every regular and prealloc extent of every file (as map shows it) resolves back to that file at that offset', async () => {
        const subvols = subvolPaths(name);
        const missing: string[] = [];
        let checked = 0;
        for await (const e of walk(btrfs, '/', { follow: false })) {
          if (e.kind !== 'file') continue;
          for (const x of (await extentMap(btrfs, e.path)).extents) {
            if (x.logical === null || (x.kind !== 'regular' && x.kind !== 'prealloc')) continue;
            const compressed = x.compression !== 'none';
            const probes: Array<[bigint, bigint]> = [[x.logical + (compressed ? 0n : x.extentOffset), x.fileOffset]];
            if (!compressed && x.length > 4096n) {
              const d = (x.length / 2n / 4096n) * 4096n;
              probes.push([x.logical + x.extentOffset + d, x.fileOffset + d], [x.logical + x.extentOffset + x.length - 4096n, x.fileOffset + x.length - 4096n]);
            }
            for (const [logical, fileOffset] of probes) {
              checked++;
              const res = await logicalResolve(ctx, logical);
              const ok = res.kind === 'data' && res.hits.some((h) => h.subvol === e.node.subvol && h.ino === e.node.ino && h.fileOffset === fileOffset);
              if (!ok) missing.push(`${e.path} file offset ${fileOffset} at logical ${logical}: ${res.kind === 'data' ? JSON.stringify(res.hits.map((h) => `${h.subvol}:${h.ino}@${h.fileOffset}`)) : res.kind}`);
            }
          }
          // ... and the file's path is among the names of its inode.
          const top = subvols.get(Number(e.node.subvol));
          if (top !== undefined && !e.node.placeholder) {
            const names = (await inodeNames(btrfs.filesystem, e.node.subvol, e.node.ino)).map((n) => (top ? `/${top}${n.path}` : n.path));
            if (!names.includes(e.path)) missing.push(`${e.path}: not among the inode's names ${JSON.stringify(names)}`);
          }
        }
        assert.deepEqual(missing.slice(0, 20), []);
        assert.ok(checked > 0, 'some extents were checked');
      });

      it('every data extent of the extent tree resolves to files of the manifest', async () => {
        const m = loadManifest(name);
        const known = new Set(m.entries.filter((e) => e.type === 'file').map((e) => `${e.subvol}:${e.ino}`));
        const problems: string[] = [];
        let extents = 0;
        for await (const it of ctx.extentTree.range(key(0n, KeyType.EXTENT_ITEM, 0n), key(U64_MAX, KeyType.EXTENT_ITEM, U64_MAX))) {
          if (it.key.type !== KeyType.EXTENT_ITEM) continue;
          if ((decodeExtentItem(it.data, it.key.type).flags & ExtentFlag.DATA) === 0n) continue;
          extents++;
          const rec = (await extentRecordAt(ctx.extentTree, it.key.objectid, ctx.nodesize))!;
          const ranges = fileRangesOf(await dataRefItems(ctx, rec));
          if (ranges.length === 0) problems.push(`extent ${rec.bytenr}: no file references it`);
          for (const r of ranges) if (!known.has(`${r.subvol}:${r.ino}`)) problems.push(`extent ${rec.bytenr}: subvol ${r.subvol} inode ${r.ino} is no file of the manifest`);
        }
        assert.ok(extents > 0);
        assert.deepEqual(problems, []);
      });

      it('every tree block of every tree is reached from that tree, walking up its back references', async () => {
        const f = btrfs.filesystem;
        const ids = [1n, 2n, 3n, 4n, 5n, 7n, 9n, 10n, ...(await btrfs.subvolumes()).map((s) => s.id)];
        const misses: string[] = [];
        let blocks = 0;
        for (const id of ids) {
          const root = await ctx.treeRoot(id);
          if (!root) continue;
          const tree = id === 1n ? f.rootTree : id === 3n ? f.chunkTree : await f.tree(id);
          for await (const b of tree.blocks()) {
            blocks++;
            const roots = await rootsOfBlock(ctx, b.header.bytenr, b.level);
            if (!roots.includes(id)) misses.push(`tree ${id} block ${b.header.bytenr} level ${b.level}: reached from ${JSON.stringify(roots.map(String))}`);
          }
        }
        assert.ok(blocks > 5);
        assert.deepEqual(misses, []);
        assert.deepEqual(ctx.problems.map((e) => e.message), []);
      });

      it('every name of every inode, as many as it has links (manifest)', async () => {
        const m = loadManifest(name);
        const subvols = subvolPaths(name);
        const byInode = new Map<string, { subvol: number; ino: number; nlink: number; type: string; paths: string[] }>();
        for (const e of m.entries) {
          if (e.ino === 2) continue; // the kernel's placeholder for a nested subvolume: no inode behind it
          const id = `${e.subvol}:${e.ino}`;
          const x = byInode.get(id) ?? { subvol: e.subvol, ino: e.ino, nlink: e.nlink, type: e.type, paths: [] };
          x.paths.push(e.path);
          byInode.set(id, x);
        }
        const diffs: string[] = [];
        for (const x of byInode.values()) {
          const top = subvols.get(x.subvol)!;
          const names = (await inodeNames(btrfs.filesystem, BigInt(x.subvol), BigInt(x.ino))).map((n) =>
            top ? (n.path === '/' ? `/${top}` : `/${top}${n.path}`) : n.path);
          for (const p of x.paths) if (!names.includes(p)) diffs.push(`${p}: not among ${JSON.stringify(names)}`);
          if (x.type !== 'dir' && names.length !== x.nlink) diffs.push(`${x.paths[0]}: ${names.length} names, nlink ${x.nlink}`);
        }
        assert.deepEqual(diffs.slice(0, 20), []);
      });
    });
  }

  describe('bookends and unallocated space', () => {
    it('the overwritten middle of basic /extents/overwrite-mid is a bookend of its extent', async () => {
      const btrfs = await openFixture('basic');
      try {
        const ctx = await BackrefContext.create(btrfs.filesystem);
        const { extents } = await extentMap(btrfs, '/extents/overwrite-mid');
        const first = extents[0]!;
        const tail = extents.find((x) => x.logical === first.logical && x.extentOffset > 0n)!;
        assert.ok(first.logical !== null && tail, 'two file ranges into one extent');
        // The bytes of the old extent between the two ranges were replaced by a new extent.
        for (let at = first.extentOffset + first.length; at < tail.extentOffset; at += 4096n) {
          const res = await logicalResolve(ctx, first.logical! + at);
          assert.equal(res.kind, 'data');
          assert.ok(res.kind === 'data' && res.bookend && res.hits.length === 0);
          const node = await btrfs.node('/extents/overwrite-mid');
          assert.deepEqual(res.references.map((r) => [r.ino, r.itemOffset]), [[node.ino, 0n], [node.ino, tail.fileOffset]]);
        }
        const cli = (await runCli(['logical-resolve', ...(await imageArgs('basic')), String(first.logical! + first.length)])).stdout.toString('utf8');
        assert.match(cli, /bookend: no file range references this part of the extent/);
        assert.match(cli, /\/extents\/overwrite-mid\n/);
      } finally {
        await btrfs.close();
      }
    });

    it('the middle of zlib /reflink/into-existing, replaced by a reflink, is a bookend (the kernel lists nothing there)', async () => {
      const btrfs = await openFixture('zlib');
      try {
        const ctx = await BackrefContext.create(btrfs.filesystem);
        const { extents } = await extentMap(btrfs, '/reflink/into-existing');
        const own = extents[0]!;
        const res = await logicalResolve(ctx, own.logical! + own.length);
        assert.ok(res.kind === 'data' && res.bookend && !res.compressed);
        const kernel = parseAnswers(path.join(FIXTURES_DIR, 'zlib', 'progs-resolve', 'logical.txt')).get(`${own.logical! + own.length} P`);
        if (kernel) assert.deepEqual(kernel, { rc: 0, out: [] });
      } finally {
        await btrfs.close();
      }
    });

    it('addresses outside every chunk, and free space inside a chunk, are unallocated', async () => {
      const args = await imageArgs('basic');
      const outside = JSON.parse((await runCli(['logical-resolve', ...args, '--json', '4096'])).stdout.toString('utf8')) as { kind: string; chunk: unknown };
      assert.deepEqual(outside, { kind: 'unallocated', logical: '4096', chunk: null });
      const btrfs = await openFixture('basic');
      try {
        const ctx = await BackrefContext.create(btrfs.filesystem);
        const data = btrfs.filesystem.volume.chunks.all().find((c) => c.type & 1n)!;
        const last = data.logical + data.length - 4096n;
        const res = await logicalResolve(ctx, last);
        assert.equal(res.kind, 'unallocated');
        assert.ok(res.kind === 'unallocated' && res.chunk?.type === 'DATA');
        const text = (await runCli(['logical-resolve', ...args, String(last)])).stdout.toString('utf8');
        assert.match(text, /not allocated: no extent item holds it; inside chunk \d+\+\d+ DATA single/);
      } finally {
        await btrfs.close();
      }
    });

    it('a tree block address is metadata, with the trees that reach it', async () => {
      const btrfs = await openFixture('snapshots');
      try {
        const ctx = await BackrefContext.create(btrfs.filesystem);
        const vol = (await btrfs.filesystem.rootItem(256n))!.root;
        const res = await logicalResolve(ctx, vol.bytenr + 100n);
        assert.ok(res.kind === 'tree-block');
        assert.equal(res.owner, 256n);
        assert.deepEqual(res.roots, [256n]);
      } finally {
        await btrfs.close();
      }
    });

    it('bad addresses and inodes are usage errors', async () => {
      const args = await imageArgs('basic');
      const bad = await runCli(['logical-resolve', ...args, 'twelve']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /logical address must be a decimal or 0x-hex number/);
      const none = await runCli(['inode-resolve', ...args, '999999']);
      assert.equal(none.code, 3);
      assert.match(none.stderr, /ENOENT/);
    });

    it('inode-resolve prints every hard link, INODE_EXTREF names included', async () => {
      const m = loadManifest('basic');
      const target = m.entries.find((e) => e.path === '/hardlinks/many/target')!;
      const r = await runCli(['inode-resolve', ...(await imageArgs('basic')), String(target.ino)]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.toString('utf8').trimEnd().split('\n');
      assert.equal(lines.length, target.nlink);
      assert.deepEqual(sorted(lines), sorted(m.entries.filter((e) => e.ino === target.ino && e.subvol === 5).map((e) => e.path)));
      const inVol = await runCli(['inode-resolve', ...(await imageArgs('snapshots')), '--subvol', 'vol', '--json', '257']);
      const j = JSON.parse(inVol.stdout.toString('utf8')) as { paths: Array<{ path: string; full_path: string }> };
      assert.deepEqual(j.paths.map((p) => [p.path, p.full_path]), [['/a', '/vol/a']]);
    });
  });
});
