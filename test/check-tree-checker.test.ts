// The tree-checker rule by rule: a real block from a fixture passes; the same block with one field
// changed (everything else intact, as a forged checksum would leave it) is refused with the kernel's
// reason. Fields are found through the block's own items, never at hard-coded offsets.

import assert from 'node:assert/strict';
import { Filesystem } from '../lib/fs/filesystem.js';
import { checkTreeBlock, type CheckContext } from '../lib/ondisk/check.js';
import { Compression, FileExtentType, HeaderFlag, KeyType, ObjectId } from '../lib/ondisk/constants.js';
import { chunkHead } from '../lib/ondisk/items/chunk.js';
import { devItem } from '../lib/ondisk/items/dev-item.js';
import { dirItemHead } from '../lib/ondisk/items/dir-item.js';
import { extentItemHead } from '../lib/ondisk/items/extent-item.js';
import { fileExtentItem } from '../lib/ondisk/items/file-extent.js';
import { inodeItem } from '../lib/ondisk/items/inode-item.js';
import { rootItem } from '../lib/ondisk/items/root-item.js';
import { blockGroupItem } from '../lib/ondisk/items/block-group.js';
import { key, U64_MAX } from '../lib/ondisk/key.js';
import { header, HEADER_SIZE, item, keyPtr, parseTreeBlock } from '../lib/ondisk/node.js';
import { BlockGroupFlag } from '../lib/ondisk/constants.js';
import { fixtureImages } from './helpers/fixtures.js';

interface Found {
  buf: Buffer;
  slot: number;
  /** Offset of the item's data in `buf`. */
  at: number;
  size: number;
  tree: bigint;
}

const opened = new Map<string, Promise<Filesystem>>();
function fsOf(name: string): Promise<Filesystem> {
  let p = opened.get(name);
  if (!p) {
    p = fixtureImages(name).then((images) => Filesystem.open([images[0]!]));
    opened.set(name, p);
  }
  return p;
}

/** A private copy of the leaf holding the first item of `tree` that `want` accepts. */
async function findItem(name: string, tree: bigint, want: (k: { objectid: bigint; type: number; offset: bigint }, data: Buffer) => boolean): Promise<Found> {
  const fs = await fsOf(name);
  const t = tree === ObjectId.CHUNK_TREE ? fs.chunkTree : tree === ObjectId.ROOT_TREE ? fs.rootTree : await fs.tree(tree);
  for await (const it of t.range(key(0n, 0, 0n), key(U64_MAX, 255, U64_MAX))) {
    if (!want(it.key, it.data)) continue;
    const block = await fs.blocks.read(it.block);
    const li = block.items[it.slot]!;
    return { buf: Buffer.from(block.buf), slot: it.slot, at: li.dataOffset, size: li.size, tree };
  }
  throw new Error(`${name}: no such item in tree ${tree}`);
}

async function ctxOf(name: string, tree: bigint): Promise<CheckContext> {
  const fs = await fsOf(name);
  const sb = fs.superblock;
  return { nodesize: sb.nodesize, sectorsize: sb.sectorsize, csumSize: fs.checksummer.size, tree, superGeneration: sb.generation, incompat: sb.incompat_flags };
}

async function refused(name: string, f: Found, pattern: RegExp, ctx?: Partial<CheckContext>): Promise<void> {
  const base = await ctxOf(name, f.tree);
  assert.throws(() => checkTreeBlock(parseTreeBlock(f.buf), { ...base, ...ctx }), (e: unknown) => {
    assert.ok(e instanceof Error && e.name === 'CorruptError', String(e));
    assert.match(e.message, pattern);
    assert.match(e.message, /block=\d+/);
    return true;
  });
}

const isExtent = (type: number, compression?: number) => (k: { type: number }, d: Buffer) =>
  k.type === KeyType.EXTENT_DATA && d[20] === type && (compression === undefined || (compression === 0 ? d[16] === 0 : d[16] !== 0));

describe('check: the tree-checker refuses what the kernel refuses', function () {
  this.timeout(120_000);
  after(async () => {
    for (const p of opened.values()) await (await p).close();
  });

  it('the untouched blocks used below pass', async () => {
    for (const [name, tree, want] of [
      ['zstd', ObjectId.FS_TREE, isExtent(FileExtentType.REG, 1)],
      ['zstd', ObjectId.CHUNK_TREE, (k: { type: number }) => k.type === KeyType.CHUNK_ITEM],
      ['zstd', ObjectId.EXTENT_TREE, (k: { type: number }) => k.type === KeyType.EXTENT_ITEM],
    ] as const) {
      const f = await findItem(name, tree, want);
      checkTreeBlock(parseTreeBlock(f.buf), await ctxOf(name, tree));
    }
  });

  const fe = (field: keyof ReturnType<typeof fileExtentItem.decode>) => fileExtentItem.offsetOf(field);

  it('a compressed extent larger than 128 KiB', async () => {
    const f = await findItem('zstd', ObjectId.FS_TREE, isExtent(FileExtentType.REG, 1));
    f.buf.writeBigUInt64LE(256n * 1024n, f.at + fe('disk_num_bytes'));
    await refused('zstd', f, /compressed extent disk_num_bytes 262144 .* exceed 131072/);
  });

  it('offset + num_bytes past ram_bytes (compressed) or past disk_num_bytes (plain)', async () => {
    const c = await findItem('zstd', ObjectId.FS_TREE, isExtent(FileExtentType.REG, 1));
    c.buf.writeBigUInt64LE(c.buf.readBigUInt64LE(c.at + fe('ram_bytes')), c.at + fe('offset'));
    await refused('zstd', c, /offset \d+ \+ num_bytes \d+ exceeds ram_bytes/);
    const p = await findItem('basic', ObjectId.FS_TREE, isExtent(FileExtentType.REG, 0));
    p.buf.writeBigUInt64LE(p.buf.readBigUInt64LE(p.at + fe('disk_num_bytes')) + 4096n, p.at + fe('num_bytes'));
    await refused('basic', p, /exceeds disk_num_bytes/);
  });

  it('an inline extent whose ram_bytes is not its size, an unknown compression, an unaligned file offset', async () => {
    const f = await findItem('basic', ObjectId.FS_TREE, isExtent(FileExtentType.INLINE, 0));
    f.buf.writeBigUInt64LE(BigInt(f.size), f.at + fe('ram_bytes'));
    await refused('basic', f, /invalid ram_bytes for uncompressed inline extent/);
    const g = await findItem('basic', ObjectId.FS_TREE, isExtent(FileExtentType.REG));
    g.buf[g.at + fe('compression')] = Compression.ZSTD + 4;
    await refused('basic', g, /invalid compression for file extent, have 7/);
    const h = await findItem('basic', ObjectId.FS_TREE, isExtent(FileExtentType.REG));
    h.buf.writeBigUInt64LE(h.buf.readBigUInt64LE(HEADER_SIZE + h.slot * item.size + 9) + 1n, HEADER_SIZE + h.slot * item.size + 9);
    await refused('basic', h, /unaligned file_offset|bad key order/);
  });

  it('a directory entry whose name runs past the item, or does not hash to its key', async () => {
    const f = await findItem('basic', ObjectId.FS_TREE, (k) => k.type === KeyType.DIR_ITEM);
    f.buf.writeUInt16LE(f.size, f.at + dirItemHead.offsetOf('name_len'));
    await refused('basic', f, /dir item (data crosses item boundary|name len too long)/);
    const g = await findItem('basic', ObjectId.FS_TREE, (k) => k.type === KeyType.DIR_ITEM);
    g.buf[g.at + dirItemHead.size]! ^= 0x20;
    await refused('basic', g, /name hash mismatch with key/);
  });

  it('an inode ref whose name runs past the item; an inode with an impossible mode', async () => {
    const f = await findItem('basic', ObjectId.FS_TREE, (k) => k.type === KeyType.INODE_REF);
    f.buf.writeUInt16LE(f.size, f.at + 8);
    await refused('basic', f, /inode ref overflow/);
    const g = await findItem('basic', ObjectId.FS_TREE, (k) => k.type === KeyType.INODE_ITEM && k.objectid >= 256n);
    g.buf.writeUInt32LE(0o644, g.at + inodeItem.offsetOf('mode'));
    await refused('basic', g, /invalid mode/);
  });

  it('item bounds, key order and the WRITTEN flag', async () => {
    const f = await findItem('basic', ObjectId.FS_TREE, (k) => k.type === KeyType.INODE_ITEM);
    const off = HEADER_SIZE + (f.slot + 1) * item.size + 17;
    f.buf.writeUInt32LE(f.buf.readUInt32LE(off) + 1, off);
    await refused('basic', f, /unexpected item end/);
    // The second of two DIR_INDEX items of one directory, moved before the first.
    let seen = 0n;
    const g = await findItem('basic', ObjectId.FS_TREE, (k) => {
      if (k.type !== KeyType.DIR_INDEX) return false;
      if (seen === k.objectid) return true;
      seen = k.objectid;
      return false;
    });
    assert.ok(g.slot > 0);
    g.buf.writeBigUInt64LE(0n, HEADER_SIZE + g.slot * item.size + 9);
    await refused('basic', g, /bad key order/);
    const h = await findItem('basic', ObjectId.FS_TREE, (k) => k.type === KeyType.INODE_ITEM);
    h.buf.writeBigUInt64LE(h.buf.readBigUInt64LE(header.offsetOf('flags')) & ~HeaderFlag.WRITTEN, header.offsetOf('flags'));
    await refused('basic', h, /WRITTEN not set/);
  });

  it('a block reached from a tree it does not belong to', async () => {
    const f = await findItem('basic', ObjectId.EXTENT_TREE, (k) => k.type === KeyType.EXTENT_ITEM);
    await refused('basic', f, /owner mismatch, have 2 expect a subvolume tree/, { tree: ObjectId.FS_TREE });
  });

  it('a node pointer to nowhere', async () => {
    const fs = await fsOf('basic');
    const tree = await fs.tree(ObjectId.FS_TREE);
    const root = await fs.blocks.read(tree.root.bytenr);
    assert.ok(root.level > 0, 'basic has a multi-level subvolume tree');
    const buf = Buffer.from(root.buf);
    buf.writeBigUInt64LE(0n, HEADER_SIZE + keyPtr.offsetOf('blockptr'));
    await refused('basic', { buf, slot: 0, at: 0, size: 0, tree: ObjectId.FS_TREE }, /invalid NULL node pointer/);
  });

  it('chunk, device, block group, root and extent items that contradict themselves', async () => {
    const chunk = await findItem('raid1', ObjectId.CHUNK_TREE, (k, d) => k.type === KeyType.CHUNK_ITEM && (d.readBigUInt64LE(chunkHead.offsetOf('type')) & BlockGroupFlag.RAID1) !== 0n);
    const typeAt = chunk.at + chunkHead.offsetOf('type');
    chunk.buf.writeBigUInt64LE((chunk.buf.readBigUInt64LE(typeAt) & ~BlockGroupFlag.RAID1) | BlockGroupFlag.RAID1C3, typeAt);
    await refused('raid1', chunk, /num_stripes:sub_stripes 2:\d+ does not fit raid1c3/);
    const dev = await findItem('raid1', ObjectId.CHUNK_TREE, (k) => k.type === KeyType.DEV_ITEM);
    dev.buf.writeBigUInt64LE(99n, dev.at + devItem.offsetOf('devid'));
    await refused('raid1', dev, /devid mismatch: key has=\d+ item has=99/);
    const bg = await findItem('basic', ObjectId.EXTENT_TREE, (k) => k.type === KeyType.BLOCK_GROUP_ITEM);
    bg.buf.writeBigUInt64LE(U64_MAX, bg.at + blockGroupItem.offsetOf('used'));
    await refused('basic', bg, /invalid block group used/);
    const root = await findItem('basic', ObjectId.ROOT_TREE, (k) => k.type === KeyType.ROOT_ITEM);
    root.buf[root.at + rootItem.offsetOf('level')] = 9;
    await refused('basic', root, /invalid root level, have 9/);
    const ext = await findItem('basic', ObjectId.EXTENT_TREE, (k, d) => k.type === KeyType.EXTENT_ITEM && d.length > extentItemHead.size);
    ext.buf[ext.at + ext.size - (ext.size - extentItemHead.size)] = 99;
    await refused('basic', ext, /unknown inline ref type: 99|inline ref item overflows/);
  });
});
