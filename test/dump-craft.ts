// A crafted image for the item types no fixture has (the kernel wrote none of them while the fixtures
// were made): a copy of the log-tree fixture whose data reloc tree leaf is replaced by a leaf holding
// orphan, dir log, free space bitmap, qgroup, uuid, string, balance, dev replace and device statistics
// items, shared and keyed back references, a legacy root item, flag combinations and unknown types.
// The checksum is recomputed, so btrfs-progs reads the leaf like any other: fixtures/record-progs-dumps.sh
// runs this file to make the image and records progs' dump of it, and test/dump.test.ts compares.
//
//   node dist/test/dump-craft.js BASE.img OUT.img

import fs from 'node:fs';
import CRC32C from 'crc-32/crc32c.js';
import { Filesystem } from '../lib/fs/filesystem.js';
import { KeyType, ObjectId } from '../lib/ondisk/constants.js';
import { HEADER_SIZE } from '../lib/ondisk/node.js';

/** The fixture the crafted image is made from, and its tree whose root leaf is replaced. */
export const CRAFT_BASE_FIXTURE = 'log-tree';
const VICTIM_TREE = ObjectId.DATA_RELOC_TREE;

interface CraftItem {
  objectid: bigint;
  type: number;
  offset: bigint;
  data: Buffer;
}

const U64_MAX = 2n ** 64n - 1n;

function le64(...values: bigint[]): Buffer {
  const b = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt.asUintN(64, v), i * 8));
  return b;
}

function le32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32LE(v >>> 0, i * 4));
  return b;
}

function diskKey(objectid: bigint, type: number, offset: bigint): Buffer {
  return Buffer.concat([le64(objectid), Buffer.from([type]), le64(offset)]);
}

/** crc32c as Btrfs' btrfs_crc32c(seed, data) computes it: no inversion on either side. */
function crc32cRaw(seed: number, data: Buffer): number {
  return ~CRC32C.buf(data, ~seed) >>> 0;
}

/** hash_extent_data_ref: the key offset of a keyed EXTENT_DATA_REF. */
function extentDataRefHash(root: bigint, owner: bigint, offset: bigint): bigint {
  const high = crc32cRaw(0xffffffff, le64(root));
  const low = crc32cRaw(crc32cRaw(0xffffffff, le64(owner)), le64(offset));
  return (BigInt(high) << 31n) ^ BigInt(low);
}

function balanceArgs(seed: number): Buffer {
  // profiles, usage (min/max), devid, pstart, pend, vstart, vend, target, flags, limit (min/max), stripes, unused
  return Buffer.concat([
    le64(BigInt(seed)), le32(seed + 1, seed + 2), le64(BigInt(seed + 3), BigInt(seed + 4), BigInt(seed + 5), BigInt(seed + 6), BigInt(seed + 7)),
    le64(BigInt(seed + 8), BigInt(seed + 9)), le32(seed + 10, seed + 11, seed + 12, seed + 13), Buffer.alloc(48),
  ]);
}

function rootItemLegacy(): Buffer {
  const b = Buffer.alloc(239);
  // inode item (160 bytes): generation 1, size 3, nlink 1, mode 040755
  b.writeBigUInt64LE(1n, 0);
  b.writeBigUInt64LE(3n, 16);
  b.writeUInt32LE(1, 40);
  b.writeUInt32LE(0o40755, 52);
  b.writeBigUInt64LE(6n, 160); // generation
  b.writeBigUInt64LE(256n, 168); // root_dirid
  b.writeBigUInt64LE(0n, 176); // bytenr
  b.writeBigUInt64LE(16384n, 192); // bytes_used
  b.writeBigUInt64LE(1n, 208); // flags: RDONLY
  b.writeUInt32LE(1, 216); // refs
  return b;
}

/** The items of the crafted leaf, in key order (the caller sorts anyway). */
function craftedItems(nodesize: number): CraftItem[] {
  const items: CraftItem[] = [];
  const add = (objectid: bigint, type: number, offset: bigint, data: Buffer) => items.push({ objectid, type, offset, data });

  // Device statistics with two counters more than progs knows, and a device replace item.
  add(ObjectId.DEV_STATS, KeyType.PERSISTENT_ITEM, 1n, le64(1n, 2n, 3n, 4n, 5n, 6n, 7n));
  add(ObjectId.DEV_STATS, KeyType.DEV_REPLACE, 0n, le64(1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n));
  // A persistent item that is not device statistics.
  add(7n, KeyType.PERSISTENT_ITEM, 0n, le64(1n));
  // Qgroup status in the older 32-byte form, rescanning and inconsistent.
  add(0n, KeyType.QGROUP_STATUS, 0n, le64(1n, 9n, 7n, 12345n));
  add(0n, KeyType.QGROUP_LIMIT, (1n << 48n) | 7n, le64(3n, U64_MAX, 1n << 40n, 0n, 0n));

  // Dir log items, as log trees hold them.
  add(256n, KeyType.DIR_LOG_ITEM, 5n, le64(10n));
  add(256n, KeyType.DIR_LOG_INDEX, 2n, le64(99n));
  // An unknown key type and an obsolete CSUM_ITEM.
  add(256n, 7, 0n, Buffer.from('abc'));
  add(256n, 120, 0n, Buffer.alloc(8));

  // An inode with every flag progs names and one it does not.
  const inode = Buffer.alloc(160);
  inode.writeBigUInt64LE(5n, 0);
  inode.writeUInt32LE(1, 40);
  inode.writeUInt32LE(0o100644, 52);
  inode.writeBigUInt64LE(0xfffn | (1n << 20n), 64);
  add(257n, KeyType.INODE_ITEM, 0n, inode);

  // A legacy (239-byte) root item.
  add(300n, KeyType.ROOT_ITEM, 0n, rootItemLegacy());

  // Extent items with shared back references and FULL_BACKREF, a non-skinny tree block item, and
  // keyed references of every kind.
  const data = 13631488n;
  add(data, KeyType.EXTENT_ITEM, 4096n, Buffer.concat([
    le64(3n, 5n, 1n),
    Buffer.from([KeyType.EXTENT_DATA_REF]), le64(5n, 257n, 0n), le32(1),
    Buffer.from([KeyType.SHARED_DATA_REF]), le64(30408704n), le32(2),
  ]));
  add(data, KeyType.EXTENT_DATA_REF, extentDataRefHash(5n, 258n, 4096n), Buffer.concat([le64(5n, 258n, 4096n), le32(1)]));
  add(data, KeyType.SHARED_DATA_REF, 30425088n, le32(4));
  // An extent item in the pre-2.6.31 v0 format (4 bytes) and a v0 back reference.
  add(data + 4096n, KeyType.EXTENT_ITEM, 4096n, le32(1));
  add(data + 4096n, KeyType.EXTENT_REF_V0, 1n, Buffer.alloc(24));
  const meta = 30408704n;
  add(meta, KeyType.EXTENT_ITEM, BigInt(nodesize), Buffer.concat([
    le64(2n, 5n, 2n | 256n), diskKey(256n, KeyType.INODE_ITEM, 0n), Buffer.from([1]),
    Buffer.from([KeyType.TREE_BLOCK_REF]), le64(5n),
    Buffer.from([KeyType.SHARED_BLOCK_REF]), le64(30441472n),
  ]));
  add(meta, KeyType.METADATA_ITEM, 0n, Buffer.concat([
    le64(1n, 5n, 2n | 256n), Buffer.from([KeyType.SHARED_BLOCK_REF]), le64(30441472n),
  ]));
  add(meta, KeyType.TREE_BLOCK_REF, 5n, Buffer.alloc(0));
  add(meta, KeyType.SHARED_BLOCK_REF, 30441472n, Buffer.alloc(0));

  // Free space tree items with a bitmap.
  add(1048576n, KeyType.FREE_SPACE_INFO, 4194304n, le32(3, 1));
  add(1048576n, KeyType.FREE_SPACE_BITMAP, 4194304n, Buffer.alloc(128, 0x5a));

  // Uuid items: received subvolume, and one of an illegal size.
  add(0x1122334455667788n, KeyType.UUID_KEY_RECEIVED_SUBVOL, 0x99aabbccddeeff00n, le64(256n, 257n));
  add(0x1122334455667789n, KeyType.UUID_KEY_SUBVOL, 1n, Buffer.alloc(12));

  // A free space cache header (the v1 cache, before the free space tree).
  add(ObjectId.FREE_SPACE, 0, 13631488n, Buffer.concat([diskKey(263n, KeyType.INODE_ITEM, 0n), le64(4n, 17n, 2n)]));

  // Balance state, string items, orphans; the last key's offset is -1.
  add(ObjectId.BALANCE, KeyType.TEMPORARY_ITEM, 0n, Buffer.concat([le64(3n), balanceArgs(10), balanceArgs(20), balanceArgs(30), Buffer.alloc(32)]));
  add(ObjectId.BALANCE, KeyType.STRING_ITEM, 0n, Buffer.from('hello\0hidden'));
  add(ObjectId.ORPHAN, KeyType.ORPHAN_ITEM, 257n, Buffer.alloc(0));
  add(ObjectId.TREE_RELOC, KeyType.ROOT_ITEM, 5n, rootItemLegacy());
  add(U64_MAX, KeyType.TEMPORARY_ITEM, U64_MAX, Buffer.alloc(0));
  add(U64_MAX - 1n, KeyType.STRING_ITEM, 0n, Buffer.concat([Buffer.from('text '), Buffer.from([0xc3, 0xa9, 0xff])]));
  return items.sort((a, b) =>
    a.objectid !== b.objectid ? (a.objectid < b.objectid ? -1 : 1) : a.type !== b.type ? a.type - b.type : a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0);
}

/** Write a copy of `base` with the crafted leaf in place of the victim tree's root leaf. */
export async function craftImage(base: string, out: string): Promise<void> {
  fs.copyFileSync(base, out);
  const f = await Filesystem.open([out], { scanFolder: false });
  try {
    const found = await f.rootItem(VICTIM_TREE);
    if (!found || found.root.level !== 0) throw new Error(`${base}: tree ${VICTIM_TREE} has no root leaf to replace`);
    const bytenr = found.root.bytenr;
    const old = await f.volume.read(bytenr, f.nodesize, 0);
    const leaf = Buffer.alloc(f.nodesize);
    old.copy(leaf, 0, 0, HEADER_SIZE);
    const items = craftedItems(f.nodesize);
    leaf.writeUInt32LE(items.length, 96);
    let end = f.nodesize - HEADER_SIZE;
    items.forEach((it, i) => {
      end -= it.data.length;
      const at = HEADER_SIZE + i * 25;
      diskKey(it.objectid, it.type, it.offset).copy(leaf, at);
      leaf.writeUInt32LE(end, at + 17);
      leaf.writeUInt32LE(it.data.length, at + 21);
      it.data.copy(leaf, HEADER_SIZE + end);
    });
    if (end < items.length * 25) throw new Error('crafted items do not fit in one leaf');
    leaf.fill(0, 0, 32);
    Buffer.from(f.checksummer.digest(leaf.subarray(32))).copy(leaf, 0);
    const fd = fs.openSync(out, 'r+');
    try {
      for (const place of f.volume.places(bytenr)) fs.writeSync(fd, leaf, 0, leaf.length, Number(place.physical));
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    await f.close();
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [base, out] = process.argv.slice(2);
  if (!base || !out) {
    process.stderr.write('usage: node dist/test/dump-craft.js BASE.img OUT.img\n');
    process.exit(2);
  }
  await craftImage(base, out);
}
