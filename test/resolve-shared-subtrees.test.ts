// The companion image of the snapshots fixture with snapshot-shared tree blocks below the root
// (fixtures/snapshots/progs-resolve/shared-subtrees/, made and recorded by the kernel through
// fixtures/record-resolve.sh): back references go through SHARED_BLOCK_REF and SHARED_DATA_REF and
// up through nodes other trees reference. Everything the fixtures are checked for is checked here too:
// logical-resolve and inode-resolve against the kernel's answers, du and compsize against the tools,
// every extent of every file against map, and the sharing matrix against the subvolume trees.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BackrefContext } from '../lib/backref/context.js';
import { inodeNames } from '../lib/backref/inode-paths.js';
import { logicalResolve } from '../lib/backref/logical-resolve.js';
import { rootsOfBlock } from '../lib/backref/roots.js';
import { extentMap } from '../lib/fs/extent-map.js';
import { walk } from '../lib/fs/walk.js';
import { open, type Btrfs } from '../lib/index.js';
import { KeyType } from '../lib/ondisk/constants.js';
import { decodeFileExtent } from '../lib/ondisk/items/file-extent.js';
import { key, U64_MAX } from '../lib/ondisk/key.js';
import { intersectBytes, mergeRanges, rangeBytes, sharing, type Range } from '../lib/usage/sharing.js';
import { runCli } from './helpers/cli.js';
import { FIXTURES_CACHE_DIR, FIXTURES_DIR } from './helpers/fixtures.js';

const DIR = path.join(FIXTURES_DIR, 'snapshots', 'progs-resolve', 'shared-subtrees');

interface Entry {
  path: string;
  type: string;
  subvol: number;
  ino: number;
  nlink: number;
  size: number;
  sha256?: string;
}

/** The image, decompressed once into fixtures/.cache (sparse) and checked against image.json. */
export async function sharedSubtreesImage(): Promise<string> {
  const meta = JSON.parse(fs.readFileSync(path.join(DIR, 'image.json'), 'utf8')) as { file: string; size: number; sha256: string };
  const dest = path.join(FIXTURES_CACHE_DIR, 'shared-subtrees', meta.file.replace(/\.gz$/, ''));
  if (fs.existsSync(dest) && fs.statSync(dest).size === meta.size) return dest;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  const hash = crypto.createHash('sha256');
  let at = 0;
  try {
    await pipeline(fs.createReadStream(path.join(DIR, meta.file)), createGunzip(), new Writable({
      write(chunk: Buffer, _e, done) {
        hash.update(chunk);
        if (chunk.some((b) => b !== 0)) fs.writeSync(fd, chunk, 0, chunk.length, at);
        at += chunk.length;
        done();
      },
    }));
    fs.ftruncateSync(fd, at);
  } finally {
    fs.closeSync(fd);
  }
  assert.equal(hash.digest('hex'), meta.sha256, 'decompressed image matches image.json');
  fs.renameSync(tmp, dest);
  return dest;
}

function answers(file: string): Map<string, { rc: number; out: string[] }> {
  const m = new Map<string, { rc: number; out: string[] }>();
  let cur: { rc: number; out: string[] } | undefined;
  for (const line of fs.readFileSync(path.join(DIR, file), 'utf8').split('\n')) {
    const h = /^@ (.+) rc=(\d+)$/.exec(line);
    if (h) m.set(h[1]!, (cur = { rc: Number(h[2]), out: [] }));
    else if (cur && line && !line.startsWith('#') && !line.startsWith('! ')) cur.out.push(line);
  }
  return m;
}

const sorted = (xs: string[]) => [...xs].sort();

describe('resolve: snapshot-shared subtrees (shared-subtrees image)', () => {
  let img: string;
  let btrfs: Btrfs;
  let ctx: BackrefContext;
  let entries: Entry[];
  before(async () => {
    img = await sharedSubtreesImage();
    btrfs = await open(img);
    ctx = await BackrefContext.create(btrfs.filesystem);
    entries = JSON.parse(fs.readFileSync(path.join(DIR, 'entries.json'), 'utf8')) as Entry[];
  });
  after(async () => btrfs?.close());

  it('the image has what it is for: full back references in the extent tree', async () => {
    let shared = 0;
    for await (const it of ctx.extentTree.range(key(0n, 0, 0n), key(U64_MAX, 255, U64_MAX))) {
      if (it.key.type === KeyType.SHARED_BLOCK_REF || it.key.type === KeyType.SHARED_DATA_REF) shared++;
    }
    for await (const it of ctx.extentTree.range(key(0n, KeyType.EXTENT_ITEM, 0n), key(U64_MAX, KeyType.METADATA_ITEM, U64_MAX))) {
      if (it.key.type !== KeyType.EXTENT_ITEM && it.key.type !== KeyType.METADATA_ITEM) continue;
      const rec = (await ctx.record(it.key.objectid))!;
      shared += rec.refs.filter((r) => r.inline && (r.type === 'shared_block' || r.type === 'shared_data')).length;
    }
    assert.ok(shared > 10, `${shared} shared back references`);
  });

  it("every block of a snapshot's tree is reached from it, also where the source owns the block", async () => {
    const misses: string[] = [];
    let foreign = 0;
    for (const s of await btrfs.subvolumes()) {
      for await (const b of (await btrfs.tree(s.id)).blocks()) {
        if (b.header.owner !== s.id) foreign++;
        const roots = await rootsOfBlock(ctx, b.header.bytenr, b.level);
        if (!roots.includes(s.id)) misses.push(`tree ${s.id} block ${b.header.bytenr}: ${JSON.stringify(roots.map(String))}`);
      }
    }
    assert.ok(foreign > 10, `${foreign} blocks seen from a tree that does not own them`);
    assert.deepEqual(misses, []);
  });

  it('logical-resolve answers what the kernel answered', async () => {
    const a = answers('logical.txt');
    const diffs: string[] = [];
    let n = 0;
    for (const k of a.keys()) {
      if (!k.endsWith(' P')) continue;
      const logical = BigInt(k.split(' ')[0]!);
      const kernel = a.get(k)!;
      const res = await logicalResolve(ctx, logical);
      if (kernel.rc !== 0) {
        if (res.kind === 'data') diffs.push(`${logical}: kernel found no data extent`);
        continue;
      }
      n++;
      if (res.kind !== 'data') {
        diffs.push(`${logical}: ${res.kind}`);
        continue;
      }
      const ours = sorted(res.hits.map((h) => `inode ${h.ino} offset ${h.fileOffset} root ${h.subvol}`));
      if (ours.join('\n') !== sorted(kernel.out).join('\n')) diffs.push(`${logical}: ${JSON.stringify(ours)}, kernel ${JSON.stringify(sorted(kernel.out))}`);
      const all = sorted(res.references.map((h) => `inode ${h.ino} offset ${h.itemOffset} root ${h.subvol}`));
      const kernelAll = sorted(a.get(`${logical} oP`)!.out);
      if (all.join('\n') !== kernelAll.join('\n')) diffs.push(`${logical} -o: ${JSON.stringify(all)}, kernel ${JSON.stringify(kernelAll)}`);
    }
    assert.ok(n > 50, `${n} data addresses`);
    assert.deepEqual(diffs, []);
    assert.deepEqual(ctx.problems.map((e) => e.message), []);
  });

  it('inode-resolve answers what the kernel answered, and every inode has as many names as links', async () => {
    const diffs: string[] = [];
    for (const [q, kernel] of answers('inode.txt')) {
      const [subvol, ino] = q.split(' ').slice(0, 2).map((x) => BigInt(x));
      const ours = sorted((await inodeNames(btrfs.filesystem, subvol!, ino!)).map((n) => `.${n.path}`));
      if (ours.join('\n') !== sorted(kernel.out).join('\n')) diffs.push(`${q}: ${JSON.stringify(ours)}, kernel ${JSON.stringify(kernel.out)}`);
    }
    const byInode = new Map<string, Entry[]>();
    for (const e of entries) if (e.type === 'file') byInode.set(`${e.subvol}:${e.ino}`, [...(byInode.get(`${e.subvol}:${e.ino}`) ?? []), e]);
    const tops = new Map<number, string>([[5, '']]);
    for (const e of entries) if (e.type === 'dir' && e.ino === 256 && e.subvol !== 5) tops.set(e.subvol, e.path);
    for (const list of byInode.values()) {
      const names = (await inodeNames(btrfs.filesystem, BigInt(list[0]!.subvol), BigInt(list[0]!.ino))).map((n) => tops.get(list[0]!.subvol) + n.path);
      if (names.length !== list[0]!.nlink || list.some((e) => !names.includes(e.path))) diffs.push(`${list[0]!.path}: ${JSON.stringify(names)}`);
    }
    assert.deepEqual(diffs, []);
  });

  it('every extent of every file resolves back to it', async () => {
    const missing: string[] = [];
    for await (const e of walk(btrfs, '/', { follow: false })) {
      if (e.kind !== 'file') continue;
      for (const x of (await extentMap(btrfs, e.path)).extents) {
        if (x.logical === null || (x.kind !== 'regular' && x.kind !== 'prealloc')) continue;
        const res = await logicalResolve(ctx, x.logical + x.extentOffset);
        if (!(res.kind === 'data' && res.hits.some((h) => h.subvol === e.node.subvol && h.ino === e.node.ino && h.fileOffset === x.fileOffset))) {
          missing.push(`${e.path}@${x.fileOffset}`);
        }
      }
    }
    assert.deepEqual(missing, []);
  });

  it('du and compsize equal btrfs filesystem du and compsize', async () => {
    const du = await runCli(['du', img, '--raw', '.']);
    assert.equal(du.stdout.toString('utf8'), fs.readFileSync(path.join(DIR, 'du.txt'), 'utf8'), du.stderr);
    const tops = sorted(entries.filter((e) => e.path.lastIndexOf('/') === 0 && e.path !== '/').map((e) => e.path.slice(1)));
    const dus = await runCli(['du', img, '-s', '--raw', ...tops]);
    assert.equal(dus.stdout.toString('utf8'), fs.readFileSync(path.join(DIR, 'du-s.txt'), 'utf8'), dus.stderr);
    const cs = await runCli(['compsize', img, '-b', '/']);
    assert.equal(cs.stdout.toString('utf8'), fs.readFileSync(path.join(DIR, 'compsize.txt'), 'utf8'), cs.stderr);
  });

  it('sharing: the pair matrix equals the one from the subvolume trees', async () => {
    const report = await sharing(btrfs);
    const per: Range[][] = [];
    for (const s of report.subvolumes) {
      const mine: Range[] = [];
      for await (const it of (await btrfs.tree(s.id)).range(key(0n, 0, 0n), key(U64_MAX, 255, U64_MAX))) {
        if (it.key.type !== KeyType.EXTENT_DATA) continue;
        const x = decodeFileExtent(it.data);
        if (x.kind === 'inline' || x.diskBytenr === 0n) continue;
        mine.push(x.compression ? [x.diskBytenr, x.diskBytenr + x.diskNumBytes] : [x.diskBytenr + x.offset, x.diskBytenr + x.offset + x.numBytes]);
      }
      per.push(mergeRanges(mine));
    }
    assert.deepEqual(report.matrix, per.map((a, i) => per.map((b, j) => (i === j ? rangeBytes(a) : intersectBytes(a, b)))));
  });
});
