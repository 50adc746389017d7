// Tree blocks: a header, then either items (leaf, level 0) or key pointers (node, level > 0).
// Parsing is pure and checks only what it needs to stay in bounds; the tree-checker (check.ts)
// validates the rest before anything above tree/ sees the block.

import { CorruptError } from '../errors.js';
import { CSUM_SIZE, FSID_SIZE, UUID_SIZE } from './constants.js';
import { diskKey, type Key } from './key.js';
import { bytes, le32, le64, struct, u8 } from './struct.js';

export const header = struct('btrfs_header', {
  csum: bytes(CSUM_SIZE),
  fsid: bytes(FSID_SIZE),
  bytenr: le64,
  flags: le64,
  chunk_tree_uuid: bytes(UUID_SIZE),
  generation: le64,
  owner: le64,
  nritems: le32,
  level: u8,
});
export type Header = ReturnType<typeof header.decode>;

export const item = struct('btrfs_item', { key: diskKey, offset: le32, size: le32 });
export const keyPtr = struct('btrfs_key_ptr', { key: diskKey, blockptr: le64, generation: le64 });

export const HEADER_SIZE = header.size; // 101

export interface LeafItem {
  key: Key;
  /** Offset of the item's data from the start of the block (header included). */
  dataOffset: number;
  size: number;
}

export interface KeyPtr {
  key: Key;
  blockptr: bigint;
  generation: bigint;
}

/** A parsed tree block. `buf` is the whole block; item data is sliced from it on demand. */
export interface TreeBlock {
  readonly buf: Buffer;
  readonly header: Header;
  readonly level: number;
  /** Leaf items, sorted by key (empty for nodes). */
  readonly items: readonly LeafItem[];
  /** Child pointers, sorted by key (empty for leaves). */
  readonly ptrs: readonly KeyPtr[];
}

export function isLeaf(block: TreeBlock): boolean {
  return block.level === 0;
}

export function itemData(block: TreeBlock, slot: number): Buffer {
  const it = block.items[slot];
  if (!it) throw new CorruptError(`no item at slot ${slot}`);
  return block.buf.subarray(it.dataOffset, it.dataOffset + it.size);
}

/** Decode the header and the item or pointer array. Bounds of the arrays are checked here. */
export function parseTreeBlock(buf: Buffer): TreeBlock {
  const h = header.decode(buf, 0);
  const level = h.level;
  const nritems = h.nritems;
  if (level === 0) {
    const max = Math.floor((buf.length - HEADER_SIZE) / item.size);
    if (nritems > max) throw new CorruptError(`leaf claims ${nritems} items, at most ${max} fit`, { block: h.bytenr });
    const items: LeafItem[] = new Array(nritems);
    for (let i = 0; i < nritems; i++) {
      const at = HEADER_SIZE + i * item.size;
      items[i] = {
        key: { objectid: buf.readBigUInt64LE(at), type: buf[at + 8]!, offset: buf.readBigUInt64LE(at + 9) },
        dataOffset: HEADER_SIZE + buf.readUInt32LE(at + 17),
        size: buf.readUInt32LE(at + 21),
      };
    }
    return { buf, header: h, level, items, ptrs: [] };
  }
  const max = Math.floor((buf.length - HEADER_SIZE) / keyPtr.size);
  if (nritems > max) throw new CorruptError(`node claims ${nritems} pointers, at most ${max} fit`, { block: h.bytenr });
  const ptrs: KeyPtr[] = new Array(nritems);
  for (let i = 0; i < nritems; i++) {
    const at = HEADER_SIZE + i * keyPtr.size;
    ptrs[i] = {
      key: { objectid: buf.readBigUInt64LE(at), type: buf[at + 8]!, offset: buf.readBigUInt64LE(at + 9) },
      blockptr: buf.readBigUInt64LE(at + 17),
      generation: buf.readBigUInt64LE(at + 25),
    };
  }
  return { buf, header: h, level, items: [], ptrs };
}
