// The tree-checker: structural validation of a tree block, run once when a block enters the cache so
// that code above tree/ can trust item bounds and key order. Modelled on the kernel's tree-checker.c.

import { CorruptError, type Location } from '../errors.js';
import { KeyType, MAX_LEVEL } from './constants.js';
import { compareKeys, formatKey } from './key.js';
import { inodeItem } from './items/inode-item.js';
import { HEADER_SIZE, item, type TreeBlock } from './node.js';
import { fileExtentItem, INLINE_DATA_START } from './items/file-extent.js';
import { dirItemHead } from './items/dir-item.js';
import { LEGACY_ROOT_ITEM_SIZE } from './items/root-item.js';

export interface CheckContext {
  nodesize: number;
  sectorsize: number;
  csumSize: number;
  /** For messages. */
  tree?: bigint | undefined;
}

function where(block: TreeBlock, ctx: CheckContext, slot?: number): Location {
  const loc: Location = { block: block.header.bytenr };
  if (ctx.tree !== undefined) loc.tree = ctx.tree;
  if (slot !== undefined) {
    loc.slot = slot;
    const k = block.level === 0 ? block.items[slot]?.key : block.ptrs[slot]?.key;
    if (k) loc.key = formatKey(k);
  }
  return loc;
}

export function checkTreeBlock(block: TreeBlock, ctx: CheckContext): void {
  const kind = block.level === 0 ? 'leaf' : 'node';
  const fail = (what: string, slot?: number) => new CorruptError(`corrupt ${kind}: ${what}`, where(block, ctx, slot));
  if (block.level >= MAX_LEVEL) throw fail(`level ${block.level} >= ${MAX_LEVEL}`);
  if (block.level > 0) {
    if (block.ptrs.length === 0) throw fail('node has no pointers');
    for (let i = 0; i < block.ptrs.length; i++) {
      const p = block.ptrs[i]!;
      if (p.blockptr === 0n || p.blockptr % BigInt(ctx.sectorsize) !== 0n) throw fail(`invalid block pointer ${p.blockptr}`, i);
      if (i > 0 && compareKeys(block.ptrs[i - 1]!.key, p.key) >= 0) throw fail('bad key order', i);
    }
    return;
  }
  // Leaf: item data is packed from the end of the block backwards, item 0 last.
  const dataStart = HEADER_SIZE + block.items.length * item.size;
  let expectedEnd = ctx.nodesize;
  for (let i = 0; i < block.items.length; i++) {
    const it = block.items[i]!;
    if (i > 0 && compareKeys(block.items[i - 1]!.key, it.key) >= 0) throw fail('bad key order', i);
    const end = it.dataOffset + it.size;
    if (end !== expectedEnd) throw fail(`unexpected item end, have ${end - HEADER_SIZE} expect ${expectedEnd - HEADER_SIZE}`, i);
    if (it.dataOffset < dataStart) throw fail('slot overlaps item data', i);
    expectedEnd = it.dataOffset;
    checkItemSize(it.key.type, it.size, ctx, (what) => fail(what, i));
  }
}

function checkItemSize(type: number, size: number, ctx: CheckContext, fail: (what: string) => CorruptError): void {
  const exact = (n: number) => { if (size !== n) throw fail(`invalid item size, have ${size} expect ${n}`); };
  const atLeast = (n: number) => { if (size < n) throw fail(`invalid item size, have ${size} expect at least ${n}`); };
  switch (type) {
    case KeyType.INODE_ITEM: exact(inodeItem.size); break;
    case KeyType.DIR_ITEM: case KeyType.DIR_INDEX: case KeyType.XATTR_ITEM: atLeast(dirItemHead.size); break;
    case KeyType.EXTENT_DATA: atLeast(INLINE_DATA_START); if (size > INLINE_DATA_START && size < fileExtentItem.size) { /* inline */ } break;
    case KeyType.ROOT_ITEM: atLeast(LEGACY_ROOT_ITEM_SIZE); break;
    case KeyType.EXTENT_CSUM: if (size % ctx.csumSize !== 0) throw fail(`csum item size ${size} not a multiple of ${ctx.csumSize}`); break;
    default: break;
  }
}
