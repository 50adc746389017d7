// One allocated extent as the extent tree records it: the EXTENT_ITEM or METADATA_ITEM and every
// back reference, inline in the item or keyed after it. Everything else in lib/backref starts here.

import { CorruptError } from '../errors.js';
import { ExtentFlag, KeyType, ObjectId } from '../ondisk/constants.js';
import { decodeExtentItem, extentDataRef, type ExtentItem, type ExtentRef } from '../ondisk/items/extent-item.js';
import { formatKey, key, U64_MAX, type Key } from '../ondisk/key.js';
import type { Tree, TreeItem } from '../tree/tree.js';
import { wrapItem } from '../fs/filesystem.js';

export type BackRef = ExtentRef & { inline: boolean };

export interface ExtentRecord {
  bytenr: bigint;
  /** Bytes the extent covers: the EXTENT_ITEM key offset, or the node size for a METADATA_ITEM. */
  length: bigint;
  keyType: typeof KeyType.EXTENT_ITEM | typeof KeyType.METADATA_ITEM;
  item: ExtentItem;
  isData: boolean;
  isTreeBlock: boolean;
  /** Tree block level (METADATA_ITEM key offset, or the tree block info of an old-style item). */
  level: number | undefined;
  /** Inline references first, then the keyed ones, in key order. */
  refs: BackRef[];
  where: { block: bigint; slot: number };
}

const SHARED_DATA_REF_SIZE = 4;

/** Keyed references cannot outnumber what a tree of this image holds; the bound only stops runaway loops. */
export const MAX_KEYED_REFS = 1 << 22;

function decodeRecord(extentTree: Tree, it: TreeItem, nodesize: number): Omit<ExtentRecord, 'refs'> & { inlineRefs: ExtentRef[] } {
  const keyType = it.key.type as ExtentRecord['keyType'];
  const item = wrapItem(() => decodeExtentItem(it.data, keyType), extentTree.root.id, it);
  const isTreeBlock = (item.flags & ExtentFlag.TREE_BLOCK) !== 0n || keyType === KeyType.METADATA_ITEM;
  const isData = (item.flags & ExtentFlag.DATA) !== 0n;
  let level: number | undefined;
  if (keyType === KeyType.METADATA_ITEM) {
    if (it.key.offset > 255n) throw new CorruptError(`metadata item level ${it.key.offset} out of range`, loc(extentTree, it));
    level = Number(it.key.offset);
  } else if (item.treeBlock) level = item.treeBlock.level;
  const length = keyType === KeyType.METADATA_ITEM ? BigInt(nodesize) : it.key.offset;
  if (length === 0n) throw new CorruptError('extent item of length 0', loc(extentTree, it));
  return { bytenr: it.key.objectid, length, keyType, item, isData, isTreeBlock, level, inlineRefs: item.inlineRefs, where: { block: it.block, slot: it.slot } };
}

function loc(tree: Tree, it: TreeItem) {
  return { tree: tree.root.id, block: it.block, slot: it.slot, key: formatKey(it.key) };
}

/** The keyed references that follow an extent item (TREE_BLOCK_REF ... SHARED_DATA_REF). */
async function keyedRefs(extentTree: Tree, bytenr: bigint): Promise<BackRef[]> {
  const out: BackRef[] = [];
  for await (const it of extentTree.range(key(bytenr, KeyType.EXTENT_OWNER_REF, 0n), key(bytenr, KeyType.SHARED_DATA_REF, U64_MAX))) {
    if (out.length >= MAX_KEYED_REFS) throw new CorruptError(`extent ${bytenr} has more than ${MAX_KEYED_REFS} keyed references`, loc(extentTree, it));
    switch (it.key.type) {
      case KeyType.TREE_BLOCK_REF:
        out.push({ type: 'tree_block', root: it.key.offset, inline: false });
        break;
      case KeyType.SHARED_BLOCK_REF:
        out.push({ type: 'shared_block', parent: it.key.offset, inline: false });
        break;
      case KeyType.EXTENT_DATA_REF: {
        const r = wrapItem(() => extentDataRef.decode(it.data, 0), extentTree.root.id, it);
        out.push({ type: 'extent_data', ...r, inline: false });
        break;
      }
      case KeyType.SHARED_DATA_REF:
        if (it.data.length < SHARED_DATA_REF_SIZE) throw new CorruptError(`shared data ref is ${it.data.length} bytes`, loc(extentTree, it));
        out.push({ type: 'shared_data', parent: it.key.offset, count: it.data.readUInt32LE(0), inline: false });
        break;
      default:
        // EXTENT_OWNER_REF (simple quotas) and anything unknown between: not a reference to follow.
        break;
    }
  }
  return out;
}

async function complete(extentTree: Tree, it: TreeItem, nodesize: number): Promise<ExtentRecord> {
  const { inlineRefs, ...rest } = decodeRecord(extentTree, it, nodesize);
  const refs: BackRef[] = inlineRefs.map((r) => ({ ...r, inline: true }));
  refs.push(...(await keyedRefs(extentTree, it.key.objectid)));
  return { ...rest, refs };
}

/** The extent that starts exactly at `bytenr`, or undefined when the extent tree has none. */
export async function extentRecordAt(extentTree: Tree, bytenr: bigint, nodesize: number): Promise<ExtentRecord | undefined> {
  for await (const it of extentTree.range(key(bytenr, KeyType.EXTENT_ITEM, 0n), key(bytenr, KeyType.METADATA_ITEM, U64_MAX))) {
    return complete(extentTree, it, nodesize);
  }
  return undefined;
}

/** Keys step back this many times at most while looking for the item of the extent holding an address. */
const MAX_BACKWARD_STEPS = 64;

/**
 * The extent whose range holds `logical` (as the kernel's extent_from_logical finds it: the last
 * extent item starting at or before the address, if it reaches that far), or undefined.
 */
export async function extentRecordContaining(extentTree: Tree, logical: bigint, nodesize: number): Promise<ExtentRecord | undefined> {
  let target: Key = key(logical, KeyType.METADATA_ITEM, U64_MAX);
  for (let step = 0; step < MAX_BACKWARD_STEPS; step++) {
    const it = await extentTree.floor(target);
    if (!it) return undefined;
    const k = it.key;
    if (k.type === KeyType.EXTENT_ITEM || k.type === KeyType.METADATA_ITEM) {
      const rec = await complete(extentTree, it, nodesize);
      return logical < rec.bytenr + rec.length ? rec : undefined;
    }
    // A keyed reference or a block group item: jump to the last extent item key at or before it.
    if (k.type > KeyType.METADATA_ITEM) target = key(k.objectid, KeyType.METADATA_ITEM, U64_MAX);
    else if (k.objectid === 0n) return undefined;
    else target = key(k.objectid - 1n, 255, U64_MAX);
  }
  throw new CorruptError(`no extent item found within ${MAX_BACKWARD_STEPS} steps back from ${logical}`, { tree: ObjectId.EXTENT_TREE, logical });
}
