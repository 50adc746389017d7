// The tree-checker: structural validation of a tree block, run once when a block enters the cache so
// that code above tree/ can trust item bounds, key order and the fields it does arithmetic with.
// The rules are the kernel's tree-checker.c (what it rejects, we reject, so we never refuse an image
// the kernel mounts), plus the bounds the read path relies on: offset + num_bytes inside the extent
// and compressed extents no larger than the 128 KiB the format allows.

import CRC32C from 'crc-32/crc32c.js';
import { CorruptError, type Location } from '../errors.js';
import {
  BLOCK_GROUP_PROFILE_MASK, BLOCK_GROUP_TYPE_MASK, BlockGroupFlag, ExtentFlag, FileType, FT_ENCRYPTED,
  HeaderFlag, IncompatFeature, KeyType, MAX_LEVEL, NAME_LEN, ObjectId,
} from './constants.js';
import { compareKeys, formatKey, type Key } from './key.js';
import { nameHash } from './name-hash.js';
import { HEADER_SIZE, item, keyPtr, type TreeBlock } from './node.js';
import { blockGroupItem } from './items/block-group.js';
import { chunkHead, decodeChunk } from './items/chunk.js';
import { devExtent } from './items/dev-extent.js';
import { devItem } from './items/dev-item.js';
import { dirItemHead } from './items/dir-item.js';
import { extentDataRef, extentItemHead, treeBlockInfo } from './items/extent-item.js';
import { decodeFileExtent, fileExtentEnd, fileExtentProblem } from './items/file-extent.js';
import { inodeItem } from './items/inode-item.js';
import { INODE_EXTREF_SIZE, INODE_REF_SIZE } from './items/inode-ref.js';
import { LEGACY_ROOT_ITEM_SIZE, rootItem } from './items/root-item.js';
import { validateChunk } from '../volume/raid.js';

export interface CheckContext {
  nodesize: number;
  sectorsize: number;
  csumSize: number;
  /** The tree the block was reached from (for messages and the owner check). */
  tree?: bigint | undefined;
  /** Superblock generation: generations in items may be at most one past it (the log tree's). */
  superGeneration?: bigint | undefined;
  /** Superblock incompat flags, for feature-dependent rules (skinny metadata, mixed groups). */
  incompat?: bigint | undefined;
}

const U64_MAX = 2n ** 64n - 1n;
const XATTR_NAME_MAX = 255;
const S_IFMT = 0o170000;
const VALID_MODE_BITS = S_IFMT | 0o7777;
/** Every inode flag the kernel defines in the low 32 bits (BTRFS_INODE_FLAG_MASK). */
const INODE_FLAG_MASK = 0xfffn | (1n << 31n);
const ROOT_SUBVOL_RDONLY = 1n;
const ROOT_SUBVOL_DEAD = 1n << 48n;
const FREE_SPACE_FLAGS_MASK = 1;

/** Subvolume trees (5 and 256..LAST_FREE), as the kernel's btrfs_is_fstree. */
export function isFsTree(id: bigint): boolean {
  return id === ObjectId.FS_TREE || (id >= ObjectId.FIRST_FREE && id <= ObjectId.LAST_FREE);
}

function where(block: TreeBlock, ctx: CheckContext, slot?: number): Location {
  const loc: Location = { block: block.header.bytenr, tree: ctx.tree ?? block.header.owner };
  if (slot !== undefined) {
    loc.slot = slot;
    const k = block.level === 0 ? block.items[slot]?.key : block.ptrs[slot]?.key;
    if (k) loc.key = formatKey(k);
  }
  return loc;
}

type Fail = (what: string) => CorruptError;

export function checkTreeBlock(block: TreeBlock, ctx: CheckContext): void {
  const kind = block.level === 0 ? 'leaf' : 'node';
  const fail = (what: string, slot?: number) => new CorruptError(`corrupt ${kind}: ${what}`, where(block, ctx, slot));
  const h = block.header;
  if (block.level >= MAX_LEVEL) throw fail(`invalid level, have ${block.level} expect [0, ${MAX_LEVEL - 1}]`);
  if (!(h.flags & HeaderFlag.WRITTEN)) throw fail(`invalid flag for ${kind}, WRITTEN not set`);
  checkOwner(block, ctx, fail);
  if (block.level > 0) {
    const max = Math.floor((ctx.nodesize - HEADER_SIZE) / keyPtr.size);
    if (block.ptrs.length === 0 || block.ptrs.length > max) throw fail(`nritems ${block.ptrs.length} out of range [1, ${max}]`);
    for (let i = 0; i < block.ptrs.length; i++) {
      const p = block.ptrs[i]!;
      if (p.blockptr === 0n) throw fail('invalid NULL node pointer', i);
      if (p.blockptr % BigInt(ctx.sectorsize) !== 0n) throw fail(`unaligned pointer, have ${p.blockptr} should be aligned to ${ctx.sectorsize}`, i);
      if (p.blockptr === h.bytenr) throw fail('node points to itself', i);
      if (ctx.superGeneration !== undefined && p.generation > ctx.superGeneration + 1n) {
        throw fail(`invalid pointer generation, have ${p.generation} expect (0, ${ctx.superGeneration + 1n}]`, i);
      }
      if (i > 0 && compareKeys(block.ptrs[i - 1]!.key, p.key) >= 0) throw fail('bad key order', i);
    }
    return;
  }
  if (block.items.length === 0) {
    if (!(h.flags & HeaderFlag.RELOC)) {
      const owner = h.owner;
      const neverEmpty = [ObjectId.ROOT_TREE, ObjectId.CHUNK_TREE, ObjectId.DEV_TREE, ObjectId.FS_TREE, ObjectId.DATA_RELOC_TREE, ObjectId.EXTENT_TREE];
      if (neverEmpty.includes(owner)) throw fail(`invalid root, root ${owner} must never be empty`);
      if (owner === 0n) throw fail('invalid owner, root 0 is not defined');
    }
    return;
  }
  // Leaf: item data is packed from the end of the block backwards, item 0 last.
  const dataStart = HEADER_SIZE + block.items.length * item.size;
  let expectedEnd = ctx.nodesize;
  let prev: Key = { objectid: 0n, type: 0, offset: 0n };
  // One failure function for the whole leaf, naming the slot being checked (this runs for every item
  // of every block read: a closure per item was a fair share of a walk's garbage).
  let slot = 0;
  const at = (what: string) => fail(what, slot);
  for (let i = 0; i < block.items.length; i++) {
    const it = block.items[i]!;
    slot = i;
    if (compareKeys(prev, it.key) >= 0) throw at(`bad key order, prev ${formatKey(prev)} current ${formatKey(it.key)}`);
    const end = it.dataOffset + it.size;
    if (end !== expectedEnd) throw at(`unexpected item end, have ${end - HEADER_SIZE} expect ${expectedEnd - HEADER_SIZE}`);
    if (it.dataOffset < dataStart) throw at('slot overlaps item data');
    expectedEnd = it.dataOffset;
    checkItem(block, i, prev, ctx, at);
    prev = it.key;
  }
}

/** The kernel's btrfs_check_eb_owner: a block belongs to the tree it was reached from. */
function checkOwner(block: TreeBlock, ctx: CheckContext, fail: (what: string) => CorruptError): void {
  const root = ctx.tree;
  const owner = block.header.owner;
  if (root === undefined || root === 0n || root === ObjectId.TREE_LOG || root === ObjectId.TREE_RELOC) return;
  if (!isFsTree(root)) {
    if (owner !== root) throw fail(`owner mismatch, have ${owner} expect ${root}`);
  } else if (!isFsTree(owner)) {
    throw fail(`owner mismatch, have ${owner} expect a subvolume tree`);
  }
}

function data(block: TreeBlock, slot: number): Buffer {
  const it = block.items[slot]!;
  return block.buf.subarray(it.dataOffset, it.dataOffset + it.size);
}

function aligned(v: bigint, to: number): boolean {
  return v % BigInt(to) === 0n;
}

/** Items keyed by inode number follow their INODE_ITEM: a changed objectid means it is missing. */
function checkPreviousInode(block: TreeBlock, slot: number, prev: Key, k: Key, fail: Fail): void {
  if (slot > 0 && prev.objectid !== k.objectid && isFsTree(block.header.owner)) {
    throw fail(`invalid previous key objectid, have ${prev.objectid} expect ${k.objectid}`);
  }
}

function checkItem(block: TreeBlock, slot: number, prev: Key, ctx: CheckContext, fail: Fail): void {
  const k = block.items[slot]!.key;
  const d = data(block, slot);
  switch (k.type) {
    case KeyType.EXTENT_DATA: checkPreviousInode(block, slot, prev, k, fail); return checkFileExtent(block, slot, k, prev, d, ctx, fail);
    case KeyType.EXTENT_CSUM: return checkCsum(block, slot, k, prev, d, ctx, fail);
    case KeyType.DIR_ITEM: case KeyType.DIR_INDEX: case KeyType.XATTR_ITEM: checkPreviousInode(block, slot, prev, k, fail); return checkDirItem(k, d, ctx, fail);
    case KeyType.INODE_REF:
      checkPreviousInode(block, slot, prev, k, fail);
      if (d.length <= INODE_REF_SIZE) throw fail(`invalid item size, have ${d.length} expect more than ${INODE_REF_SIZE}`);
      return checkNames(d, INODE_REF_SIZE, INODE_REF_SIZE - 2, 'inode ref', fail);
    case KeyType.INODE_EXTREF: checkPreviousInode(block, slot, prev, k, fail); return checkNames(d, INODE_EXTREF_SIZE, INODE_EXTREF_SIZE - 2, 'inode extref', fail);
    case KeyType.INODE_ITEM: return checkInodeItem(k, d, ctx, fail);
    case KeyType.ROOT_ITEM: return checkRootItem(k, d, ctx, fail);
    case KeyType.ROOT_REF: case KeyType.ROOT_BACKREF: return checkNames(d, 18, 16, 'root ref', fail, true);
    case KeyType.BLOCK_GROUP_ITEM: return checkBlockGroup(k, d, fail);
    case KeyType.CHUNK_ITEM: return checkChunkItem(k, d, ctx, fail);
    case KeyType.DEV_ITEM: return checkDevItem(k, d, fail);
    case KeyType.DEV_EXTENT: return checkDevExtent(block, slot, k, prev, d, ctx, fail);
    case KeyType.EXTENT_ITEM: case KeyType.METADATA_ITEM: return checkExtentItem(slot, k, prev, d, ctx, fail);
    case KeyType.TREE_BLOCK_REF: case KeyType.SHARED_BLOCK_REF: case KeyType.SHARED_DATA_REF: return checkKeyedRef(k, d, ctx, fail);
    case KeyType.EXTENT_DATA_REF: return checkExtentDataRefs(k, d, ctx, fail);
    case KeyType.FREE_SPACE_INFO: return checkFreeSpaceInfo(k, d, ctx, fail);
    default: return;
  }
}

function checkFileExtent(block: TreeBlock, slot: number, k: Key, prev: Key, d: Buffer, ctx: CheckContext, fail: Fail): void {
  const problem = fileExtentProblem(d, { keyOffset: k.offset, sectorsize: ctx.sectorsize });
  if (problem) throw fail(problem);
  if (slot > 0 && prev.objectid === k.objectid && prev.type === KeyType.EXTENT_DATA) {
    // The previous item passed these checks already, so it decodes.
    const prevEnd = fileExtentEnd(prev.offset, decodeFileExtent(data(block, slot - 1)), ctx.sectorsize);
    if (prevEnd > k.offset) throw fail(`file extent end range (${prevEnd}) goes beyond start offset (${k.offset}) of the next file extent`);
  }
}


function checkCsum(block: TreeBlock, slot: number, k: Key, prev: Key, d: Buffer, ctx: CheckContext, fail: Fail): void {
  if (k.objectid !== ObjectId.EXTENT_CSUM) throw fail(`invalid key objectid for csum item, have ${k.objectid} expect ${ObjectId.EXTENT_CSUM}`);
  if (!aligned(k.offset, ctx.sectorsize)) throw fail(`unaligned key offset for csum item, have ${k.offset} should be aligned to ${ctx.sectorsize}`);
  if (d.length % ctx.csumSize !== 0) throw fail(`unaligned item size for csum item, have ${d.length} should be aligned to ${ctx.csumSize}`);
  if (slot > 0 && prev.type === KeyType.EXTENT_CSUM) {
    const prevEnd = prev.offset + BigInt(block.items[slot - 1]!.size / ctx.csumSize) * BigInt(ctx.sectorsize);
    if (prevEnd > k.offset) throw fail(`csum end range (${prevEnd}) goes beyond the start range (${k.offset}) of the next csum item`);
  }
}

/** A DIR_ITEM/DIR_INDEX location: an inode of this tree, or the root of a subvolume. */
function checkLocation(itemType: number, loc: Key, fail: Fail): void {
  if (itemType === KeyType.XATTR_ITEM) {
    if (loc.objectid !== 0n || loc.type !== 0 || loc.offset !== 0n) throw fail(`invalid location key for xattr, have ${formatKey(loc)}`);
    return;
  }
  if (loc.type === KeyType.ROOT_ITEM) {
    if (loc.objectid === 0n) throw fail('invalid location key root id 0');
    if (!isFsTree(loc.objectid)) throw fail(`invalid location key objectid, have ${loc.objectid} expect [${ObjectId.FIRST_FREE}, ${ObjectId.LAST_FREE}]`);
    return;
  }
  if (loc.type !== KeyType.INODE_ITEM && loc.type !== 0) throw fail(`invalid location key type, have ${loc.type}, expect ${KeyType.ROOT_ITEM} or ${KeyType.INODE_ITEM}`);
  checkInodeNumber(loc, 'location key', fail);
}

function checkInodeNumber(k: Key, what: string, fail: Fail): void {
  const id = k.objectid;
  if ((id < ObjectId.FIRST_FREE || id > ObjectId.LAST_FREE) && id !== ObjectId.ROOT_TREE_DIR && id !== ObjectId.FREE_INO) {
    throw fail(`invalid ${what} objectid: has ${id} expect ${ObjectId.ROOT_TREE_DIR} or [${ObjectId.FIRST_FREE}, ${ObjectId.LAST_FREE}] or ${ObjectId.FREE_INO}`);
  }
  if (k.offset !== 0n) throw fail(`invalid ${what} offset: has ${k.offset} expect 0`);
}

function checkDirItem(k: Key, d: Buffer, ctx: CheckContext, fail: Fail): void {
  const maxXattr = ctx.nodesize - HEADER_SIZE - item.size - dirItemHead.size;
  let at = 0;
  while (at < d.length) {
    if (at + dirItemHead.size > d.length) throw fail(`dir item header crosses item boundary, have ${at + dirItemHead.size} boundary ${d.length}`);
    const h = dirItemHead.decode(d, at);
    checkLocation(k.type, h.location, fail);
    const type = h.type & ~FT_ENCRYPTED;
    if (type <= FileType.UNKNOWN || type > FileType.XATTR) throw fail(`invalid dir item type, have ${type} expect (0, ${FileType.XATTR + 1})`);
    if (k.type === KeyType.XATTR_ITEM && type !== FileType.XATTR) throw fail(`invalid dir item type for XATTR key, have ${type} expect ${FileType.XATTR}`);
    if (type === FileType.XATTR && k.type !== KeyType.XATTR_ITEM) throw fail('xattr dir type found for non-XATTR key');
    const maxName = type === FileType.XATTR ? XATTR_NAME_MAX : NAME_LEN;
    if (h.name_len > maxName) throw fail(`dir item name len too long, have ${h.name_len} max ${maxName}`);
    if (h.name_len + h.data_len > maxXattr) throw fail(`dir item name and data len too long, have ${h.name_len + h.data_len} max ${maxXattr}`);
    if (h.data_len !== 0 && type !== FileType.XATTR) throw fail(`dir item with invalid data len, have ${h.data_len} expect 0`);
    const total = dirItemHead.size + h.name_len + h.data_len;
    if (at + total > d.length) throw fail(`dir item data crosses item boundary, have ${at + total} boundary ${d.length}`);
    if (k.type === KeyType.DIR_ITEM || k.type === KeyType.XATTR_ITEM) {
      const name = d.subarray(at + dirItemHead.size, at + dirItemHead.size + h.name_len);
      const hash = nameHash(name);
      if (hash !== k.offset) throw fail(`name hash mismatch with key, have 0x${hash.toString(16).padStart(16, '0')} expect 0x${k.offset.toString(16).padStart(16, '0')}`);
    }
    at += total;
  }
}

/**
 * Items that are a run of (fixed head, u16 name_len at `lenAt`, name): INODE_REF, INODE_EXTREF, and
 * (`single`) ROOT_REF/ROOT_BACKREF, which hold exactly one name.
 */
function checkNames(d: Buffer, head: number, lenAt: number, what: string, fail: Fail, single = false): void {
  let at = 0;
  while (at < d.length) {
    if (at + head > d.length) throw fail(`${what} overflow, ptr ${at} end ${d.length} ${what} size ${head}`);
    const len = d.readUInt16LE(at + lenAt);
    if (at + head + len > d.length) throw fail(`${what} overflow, ptr ${at} end ${d.length} namelen ${len}`);
    if (len > NAME_LEN) throw fail(`${what} name len too long, have ${len} max ${NAME_LEN}`);
    at += head + len;
    if (single && at !== d.length) throw fail(`${what} item size ${d.length}, expect ${at}`);
  }
  if (single && d.length === 0) throw fail(`${what} item is empty`);
}

const INODE = {
  generation: inodeItem.offsetOf('generation'),
  transid: inodeItem.offsetOf('transid'),
  mode: inodeItem.offsetOf('mode'),
  nlink: inodeItem.offsetOf('nlink'),
  flags: inodeItem.offsetOf('flags'),
};

function checkInodeItem(k: Key, d: Buffer, ctx: CheckContext, fail: Fail): void {
  checkInodeNumber(k, 'key', fail);
  if (d.length !== inodeItem.size) throw fail(`invalid item size: has ${d.length} expect ${inodeItem.size}`);
  // The few fields checked are read in place: every inode item of every leaf read passes here, and
  // decoding the whole item (a dozen u64s) for five of them was a visible part of a tree walk.
  const limit = ctx.superGeneration !== undefined ? ctx.superGeneration + 1n : undefined;
  if (limit !== undefined) {
    const generation = d.readBigUInt64LE(INODE.generation);
    const transid = d.readBigUInt64LE(INODE.transid);
    if (generation > limit) throw fail(`invalid inode generation: has ${generation} expect (0, ${limit}]`);
    if (transid > limit) throw fail(`invalid inode transid: has ${transid} expect [0, ${limit}]`);
  }
  const mode = d.readUInt32LE(INODE.mode);
  const nlink = d.readUInt32LE(INODE.nlink);
  if (mode & ~VALID_MODE_BITS) throw fail(`unknown mode bit detected: 0x${(mode & ~VALID_MODE_BITS).toString(16)}`);
  const fmt = mode & S_IFMT;
  if (![0o010000, 0o020000, 0o040000, 0o060000, 0o100000, 0o120000, 0o140000].includes(fmt)) {
    throw fail(`invalid mode: has 0${fmt.toString(8)} expect valid S_IF* bit(s)`);
  }
  if (fmt === 0o040000 && nlink > 1) throw fail(`invalid nlink: has ${nlink} expect no more than 1 for dir`);
  const flags = d.readBigUInt64LE(INODE.flags) & 0xffffffffn;
  if (flags & ~INODE_FLAG_MASK) throw fail(`unknown incompat flags detected: 0x${flags.toString(16)}`);
}

function checkRootItem(k: Key, d: Buffer, ctx: CheckContext, fail: Fail): void {
  if (k.objectid === ObjectId.TREE_RELOC && !isFsTree(k.offset)) throw fail(`invalid reloc tree for root ${k.offset}, root id is not a subvolume tree`);
  if (k.objectid === 0n) throw fail('invalid root id 0');
  if (d.length !== rootItem.size && d.length !== LEGACY_ROOT_ITEM_SIZE) {
    throw fail(`invalid root item size, have ${d.length} expect ${rootItem.size} or ${LEGACY_ROOT_ITEM_SIZE}`);
  }
  const r = (field: string) => d.readBigUInt64LE(rootItem.offsetOf(field as never));
  if (ctx.superGeneration !== undefined) {
    const limit = ctx.superGeneration + 1n;
    const fields: Array<[string, bigint]> = [['generation', r('generation')], ['last_snapshot', r('last_snapshot')]];
    if (d.length === rootItem.size) fields.push(['v2 generation', r('generation_v2')]);
    for (const [name, v] of fields) if (v > limit) throw fail(`invalid root ${name}, have ${v} expect (0, ${limit}]`);
  }
  const bytenr = r('bytenr');
  if (!aligned(bytenr, ctx.sectorsize)) throw fail(`invalid root bytenr, have ${bytenr} expect to be aligned to ${ctx.sectorsize}`);
  const level = d[rootItem.offsetOf('level')]!;
  const dropLevel = d[rootItem.offsetOf('drop_level')]!;
  if (level >= MAX_LEVEL) throw fail(`invalid root level, have ${level} expect [0, ${MAX_LEVEL - 1}]`);
  if (dropLevel >= MAX_LEVEL) throw fail(`invalid root drop_level, have ${dropLevel} expect [0, ${MAX_LEVEL - 1}]`);
  const flags = r('flags');
  if (flags & ~(ROOT_SUBVOL_RDONLY | ROOT_SUBVOL_DEAD)) throw fail(`invalid root flags, have 0x${flags.toString(16)} expect mask 0x${(ROOT_SUBVOL_RDONLY | ROOT_SUBVOL_DEAD).toString(16)}`);
}

function checkBlockGroup(k: Key, d: Buffer, fail: Fail): void {
  if (k.offset === 0n) throw fail('invalid block group size 0');
  if (d.length !== blockGroupItem.size) throw fail(`invalid item size, have ${d.length} expect ${blockGroupItem.size}`);
  const bg = blockGroupItem.decode(d, 0);
  if (bg.chunk_objectid !== ObjectId.FIRST_CHUNK_TREE) throw fail(`invalid block group chunk objectid, have ${bg.chunk_objectid} expect ${ObjectId.FIRST_CHUNK_TREE}`);
  if (bg.used > k.offset) throw fail(`invalid block group used, have ${bg.used} expect [0, ${k.offset})`);
  const profile = bg.flags & BLOCK_GROUP_PROFILE_MASK;
  if (profile & (profile - 1n)) throw fail(`invalid profile flags, have 0x${profile.toString(16)} expect no more than 1 bit set`);
  const type = bg.flags & BLOCK_GROUP_TYPE_MASK;
  const valid = [BlockGroupFlag.DATA, BlockGroupFlag.METADATA, BlockGroupFlag.SYSTEM, BlockGroupFlag.METADATA | BlockGroupFlag.DATA];
  if (!valid.includes(type)) throw fail(`invalid type, have 0x${type.toString(16)}`);
}

function checkChunkItem(k: Key, d: Buffer, ctx: CheckContext, fail: Fail): void {
  if (d.length < chunkHead.size) throw fail(`invalid chunk item size: have ${d.length} expect at least ${chunkHead.size}`);
  let decoded;
  try {
    decoded = decodeChunk(d, 0);
  } catch (e) {
    if (e instanceof CorruptError) throw fail(e.message);
    throw e;
  }
  if (decoded.size !== d.length) throw fail(`invalid chunk item size: have ${d.length} expect ${decoded.size}`);
  const mixed = ctx.incompat === undefined || (ctx.incompat & IncompatFeature.MIXED_GROUPS) !== 0n;
  try {
    validateChunk(decoded.chunk, ctx.sectorsize, k.offset, mixed);
  } catch (e) {
    if (e instanceof CorruptError) throw fail(e.message.split(': logical=')[0]!);
    throw e;
  }
}

function checkDevItem(k: Key, d: Buffer, fail: Fail): void {
  if (k.objectid !== ObjectId.DEV_ITEMS) throw fail(`invalid objectid: has=${k.objectid} expect=${ObjectId.DEV_ITEMS}`);
  if (d.length !== devItem.size) throw fail(`invalid item size: has ${d.length} expect ${devItem.size}`);
  const di = devItem.decode(d, 0);
  if (di.devid !== k.offset) throw fail(`devid mismatch: key has=${k.offset} item has=${di.devid}`);
  if (di.bytes_used > di.total_bytes) throw fail(`invalid bytes used: have ${di.bytes_used} expect [0, ${di.total_bytes}]`);
}

function checkDevExtent(block: TreeBlock, slot: number, k: Key, prev: Key, d: Buffer, ctx: CheckContext, fail: Fail): void {
  if (d.length !== devExtent.size) throw fail(`invalid item size: has ${d.length} expect ${devExtent.size}`);
  const de = devExtent.decode(d, 0);
  const S = ctx.sectorsize;
  if (de.chunk_tree !== ObjectId.CHUNK_TREE) throw fail(`invalid dev extent chunk tree id, has ${de.chunk_tree} expect ${ObjectId.CHUNK_TREE}`);
  if (de.chunk_objectid !== ObjectId.FIRST_CHUNK_TREE) throw fail(`invalid dev extent chunk objectid, has ${de.chunk_objectid} expect ${ObjectId.FIRST_CHUNK_TREE}`);
  if (!aligned(k.offset, S)) throw fail(`invalid dev extent key.offset, has ${k.offset} not aligned to ${S}`);
  if (!aligned(de.chunk_offset, S)) throw fail(`invalid dev extent chunk offset, has ${de.chunk_offset} not aligned to ${S}`);
  if (!aligned(de.length, S)) throw fail(`invalid dev extent length, has ${de.length} not aligned to ${S}`);
  if (slot > 0 && prev.objectid === k.objectid && prev.type === k.type) {
    const p = data(block, slot - 1);
    if (p.length === devExtent.size) {
      const prevLen = devExtent.decode(p, 0).length;
      if (prev.offset + prevLen > k.offset) throw fail(`dev extent overlap, prev offset ${prev.offset} len ${prevLen} current offset ${k.offset}`);
    }
  }
}

function isValidDataRefRoot(root: bigint): boolean {
  return isFsTree(root) || root === ObjectId.DATA_RELOC_TREE || root === ObjectId.ROOT_TREE;
}

/** The kernel's hash_extent_data_ref: the order of inline EXTENT_DATA_REFs. */
export function hashExtentDataRef(root: bigint, owner: bigint, offset: bigint): bigint {
  const le = (...vs: bigint[]) => {
    const b = Buffer.alloc(8 * vs.length);
    vs.forEach((v, i) => b.writeBigUInt64LE(v, i * 8));
    return b;
  };
  // Raw crc32c seeded with ~0 and not inverted at the end: crc-32's buf() inverts, so undo it.
  const high = BigInt(~CRC32C.buf(le(root), 0) >>> 0);
  const low = BigInt(~CRC32C.buf(le(owner, offset), 0) >>> 0);
  return ((high << 31n) ^ low) & U64_MAX;
}

function checkDataRef(root: bigint, objectid: bigint, offset: bigint, count: number, ctx: CheckContext, fail: Fail, what: string): void {
  if (!isValidDataRefRoot(root)) throw fail(`invalid ${what} root value ${root}`);
  if (objectid < ObjectId.FIRST_FREE || objectid > ObjectId.LAST_FREE) throw fail(`invalid ${what} objectid value ${objectid}`);
  if (!aligned(offset, ctx.sectorsize)) throw fail(`invalid ${what} offset, have ${offset} expect aligned to ${ctx.sectorsize}`);
  if (count === 0) throw fail(`invalid ${what} count, should have non-zero value`);
}

function checkExtentItem(slot: number, k: Key, prev: Key, d: Buffer, ctx: CheckContext, fail: Fail): void {
  const S = ctx.sectorsize;
  if (k.type === KeyType.METADATA_ITEM && ctx.incompat !== undefined && !(ctx.incompat & IncompatFeature.SKINNY_METADATA)) {
    throw fail('invalid key type, METADATA_ITEM type invalid when SKINNY_METADATA feature disabled');
  }
  if (!aligned(k.objectid, S)) throw fail(`invalid key objectid, have ${k.objectid} expect to be aligned to ${S}`);
  if (k.type === KeyType.METADATA_ITEM && k.offset >= BigInt(MAX_LEVEL)) throw fail(`invalid tree level, have ${k.offset} expect [0, ${MAX_LEVEL - 1}]`);
  if (d.length < extentItemHead.size) throw fail(`invalid item size, have ${d.length} expect at least ${extentItemHead.size}`);
  const head = extentItemHead.decode(d, 0);
  if (ctx.superGeneration !== undefined && head.generation > ctx.superGeneration + 1n) {
    throw fail(`invalid generation, have ${head.generation} expect (0, ${ctx.superGeneration + 1n}]`);
  }
  const kindBits = head.flags & (ExtentFlag.DATA | ExtentFlag.TREE_BLOCK);
  if (kindBits !== ExtentFlag.DATA && kindBits !== ExtentFlag.TREE_BLOCK) {
    throw fail(`invalid extent flag, have 0x${head.flags.toString(16)} expect 1 bit set in 0x${(ExtentFlag.DATA | ExtentFlag.TREE_BLOCK).toString(16)}`);
  }
  const treeBlock = kindBits === ExtentFlag.TREE_BLOCK;
  if (treeBlock) {
    if (k.type === KeyType.EXTENT_ITEM && k.offset !== BigInt(ctx.nodesize)) throw fail(`invalid extent length, have ${k.offset} expect ${ctx.nodesize}`);
  } else {
    if (k.type !== KeyType.EXTENT_ITEM) throw fail(`invalid key type, have ${k.type} expect ${KeyType.EXTENT_ITEM} for data backref`);
    if (!aligned(k.offset, S)) throw fail(`invalid extent length, have ${k.offset} expect aligned to ${S}`);
    if (head.flags & ExtentFlag.FULL_BACKREF) throw fail('invalid extent flag, data has full backref set');
  }
  let at = extentItemHead.size;
  if (treeBlock && k.type === KeyType.EXTENT_ITEM) {
    if (at + treeBlockInfo.size > d.length) throw fail('tree block info overflows extent item');
    const level = d[at + 17]!;
    if (level >= MAX_LEVEL) throw fail(`invalid tree block info level, have ${level} expect [0, ${MAX_LEVEL - 1}]`);
    at += treeBlockInfo.size;
  }
  let inlineRefs = 0n;
  let lastType = 0;
  let lastSeq = U64_MAX;
  while (at < d.length) {
    if (at + 9 > d.length) throw fail(`inline ref item overflows extent item, ptr ${at} iref size 9 end ${d.length}`);
    const type = d[at]!;
    const offset = d.readBigUInt64LE(at + 1);
    let seq = offset;
    const size = type === KeyType.EXTENT_DATA_REF ? 1 + extentDataRef.size : type === KeyType.SHARED_DATA_REF ? 13 : 9;
    if (at + size > d.length) throw fail(`inline ref item overflows extent item, ptr ${at} iref size ${size} end ${d.length}`);
    switch (type) {
      case KeyType.TREE_BLOCK_REF: inlineRefs++; break;
      case KeyType.SHARED_BLOCK_REF:
        if (!aligned(offset, S)) throw fail(`invalid tree parent bytenr, have ${offset} expect aligned to ${S}`);
        inlineRefs++;
        break;
      case KeyType.EXTENT_DATA_REF: {
        const r = extentDataRef.decode(d, at + 1);
        checkDataRef(r.root, r.objectid, r.offset, r.count, ctx, fail, 'data ref');
        seq = hashExtentDataRef(r.root, r.objectid, r.offset);
        inlineRefs += BigInt(r.count);
        break;
      }
      case KeyType.SHARED_DATA_REF: {
        if (!aligned(offset, S)) throw fail(`invalid data parent bytenr, have ${offset} expect aligned to ${S}`);
        const count = d.readUInt32LE(at + 9);
        if (count === 0) throw fail('invalid shared data ref count, should have non-zero value');
        inlineRefs += BigInt(count);
        break;
      }
      case KeyType.EXTENT_OWNER_REF: break;
      default: throw fail(`unknown inline ref type: ${type}`);
    }
    if (type < lastType) throw fail(`inline ref out-of-order: has type ${type}, prev type ${lastType}`);
    if (type > lastType) lastSeq = U64_MAX;
    if (seq > lastSeq) throw fail(`inline ref out-of-order: has type ${type} offset ${offset} seq 0x${seq.toString(16)}, prev type ${lastType} seq 0x${lastSeq.toString(16)}`);
    lastType = type;
    lastSeq = seq;
    at += size;
  }
  if (inlineRefs > head.refs) throw fail(`invalid extent refs, have ${head.refs} expect >= inline ${inlineRefs}`);
  if (slot > 0 && (prev.type === KeyType.EXTENT_ITEM || prev.type === KeyType.METADATA_ITEM)) {
    const prevEnd = prev.objectid + (prev.type === KeyType.METADATA_ITEM ? BigInt(ctx.nodesize) : prev.offset);
    if (prevEnd > k.objectid) throw fail(`previous extent ${formatKey(prev)} overlaps current extent ${formatKey(k)}`);
  }
}

function checkKeyedRef(k: Key, d: Buffer, ctx: CheckContext, fail: Fail): void {
  let expect = 0;
  if (k.type === KeyType.SHARED_DATA_REF) {
    expect = 4;
    if (d.length === 4 && d.readUInt32LE(0) === 0) throw fail('invalid shared data backref count, should have non-zero value');
  }
  if (d.length !== expect) throw fail(`invalid item size, have ${d.length} expect ${expect} for key type ${k.type}`);
  if (!aligned(k.objectid, ctx.sectorsize)) throw fail(`invalid key objectid for shared block ref, have ${k.objectid} expect aligned to ${ctx.sectorsize}`);
  if (k.type !== KeyType.TREE_BLOCK_REF && !aligned(k.offset, ctx.sectorsize)) {
    throw fail(`invalid tree parent bytenr, have ${k.offset} expect aligned to ${ctx.sectorsize}`);
  }
}

function checkExtentDataRefs(k: Key, d: Buffer, ctx: CheckContext, fail: Fail): void {
  if (d.length % extentDataRef.size !== 0) throw fail(`invalid item size, have ${d.length} expect aligned to ${extentDataRef.size} for key type ${k.type}`);
  if (!aligned(k.objectid, ctx.sectorsize)) throw fail(`invalid key objectid for shared block ref, have ${k.objectid} expect aligned to ${ctx.sectorsize}`);
  for (let at = 0; at < d.length; at += extentDataRef.size) {
    const r = extentDataRef.decode(d, at);
    checkDataRef(r.root, r.objectid, r.offset, r.count, ctx, fail, 'extent data backref');
  }
}

function checkFreeSpaceInfo(k: Key, d: Buffer, ctx: CheckContext, fail: Fail): void {
  const S = ctx.sectorsize;
  if (!aligned(k.objectid, S)) throw fail(`free space info key objectid is not aligned to ${S}, has ${formatKey(k)}`);
  if (!aligned(k.offset, S)) throw fail(`free space info key offset is not aligned to ${S}, has ${formatKey(k)}`);
  if (d.length !== 8) throw fail(`invalid item size for free space info, has ${d.length} expect 8`);
  const count = d.readUInt32LE(0);
  const flags = d.readUInt32LE(4);
  if (flags & ~FREE_SPACE_FLAGS_MASK) throw fail(`unknown flags for free space info, has 0x${flags.toString(16)} valid mask 0x${FREE_SPACE_FLAGS_MASK.toString(16)}`);
  const max = k.offset / BigInt(S);
  if (BigInt(count) > max) throw fail(`suspicious extent count, has ${count} max valid ${max}`);
}
