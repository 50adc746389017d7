// Every file extent item that points at a data extent, and the subvolumes that see it, found from the
// extent tree alone as the kernel's backref.c does:
//
// - EXTENT_DATA_REF (root, inode, offset, count): `offset` is file_offset - extent_offset of the file
//   extent items it stands for, and one ref may stand for `count` items of that inode (a file extent
//   split by a partial overwrite keeps one ref). They are found by scanning the inode's EXTENT_DATA
//   items in that tree from key offset `offset` on; leaves owned by another tree, or named by a
//   SHARED_DATA_REF of the same extent, are skipped as the kernel skips them (those items are
//   counted through the other reference).
// - SHARED_DATA_REF (parent leaf, count): every EXTENT_DATA item of that leaf pointing at the extent.
//
// A leaf can be shared by several trees (snapshots share unchanged blocks), so each item is reported
// with every tree that reaches its leaf (roots.ts).

import { CorruptError, isBtrfsError } from '../errors.js';
import { KeyType } from '../ondisk/constants.js';
import { decodeFileExtent, type RegularExtent } from '../ondisk/items/file-extent.js';
import { key, U64_MAX } from '../ondisk/key.js';
import { itemData } from '../ondisk/node.js';
import { wrapItem } from '../fs/filesystem.js';
import type { BackrefContext } from './context.js';
import type { ExtentRecord } from './extent-record.js';
import { rootsOfBlock } from './roots.js';

export interface DataRefItem {
  /** Tree the item was found in: the EXTENT_DATA_REF's root, or the shared leaf's owner. */
  tree: bigint;
  leaf: bigint;
  slot: number;
  ino: bigint;
  /** The item's key offset: where its range starts in the file. */
  fileOffset: bigint;
  extent: RegularExtent;
  via: 'extent_data_ref' | 'shared_data_ref';
  /** Every subvolume tree whose tree reaches the item's leaf. */
  roots: bigint[];
}

const U64 = 1n << 64n;
/** Offsets at or past this came from an underflow in old clone code; the kernel then scans from 0. */
const LLONG_MAX = (1n << 63n) - 1n;

function itemRefOffset(fileOffset: bigint, extentOffset: bigint): bigint {
  return (((fileOffset - extentOffset) % U64) + U64) % U64;
}

/** The file extent items referencing data extent `rec`, sorted by (tree, ino, file offset). */
export async function dataRefItems(ctx: BackrefContext, rec: ExtentRecord): Promise<DataRefItem[]> {
  const sharedParents = new Set<bigint>();
  for (const r of rec.refs) if (r.type === 'shared_data') sharedParents.add(r.parent);
  const found = new Map<string, Omit<DataRefItem, 'roots'>>();
  const add = (item: Omit<DataRefItem, 'roots'>) => {
    const id = `${item.leaf}:${item.slot}`;
    if (!found.has(id)) found.set(id, item);
  };

  for (const r of rec.refs) {
    try {
      if (r.type === 'extent_data') for (const item of await itemsOfExtentDataRef(ctx, rec.bytenr, r, sharedParents)) add(item);
      else if (r.type === 'shared_data') await viaSharedDataRef(ctx, rec, r.parent, add);
    } catch (e) {
      if (!isBtrfsError(e)) throw e;
      ctx.note(e);
    }
  }

  const out: DataRefItem[] = [];
  for (const item of found.values()) {
    let roots: bigint[] = [];
    try {
      roots = await rootsOfBlock(ctx, item.leaf, 0);
    } catch (e) {
      if (!isBtrfsError(e)) throw e;
      ctx.note(e);
    }
    out.push({ ...item, roots });
  }
  return out.sort((a, b) => cmp(a.tree, b.tree) || cmp(a.ino, b.ino) || cmp(a.fileOffset, b.fileOffset) || cmp(a.leaf, b.leaf));
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The file extent items one EXTENT_DATA_REF of extent `bytenr` stands for (at most its count). */
export async function itemsOfExtentDataRef(
  ctx: BackrefContext,
  bytenr: bigint,
  ref: { root: bigint; objectid: bigint; offset: bigint; count: number },
  sharedParents: ReadonlySet<bigint>,
): Promise<Array<Omit<DataRefItem, 'roots'>>> {
  const root = await ctx.treeRoot(ref.root);
  if (!root) {
    ctx.note(new CorruptError(`data extent references tree ${ref.root}, which has no root`, { logical: bytenr }));
    return [];
  }
  const tree = await ctx.fs.tree(ref.root);
  const start = ref.offset > LLONG_MAX ? 0n : ref.offset;
  const out: Array<Omit<DataRefItem, 'roots'>> = [];
  for await (const it of tree.range(key(ref.objectid, KeyType.EXTENT_DATA, start), key(ref.objectid, KeyType.EXTENT_DATA, U64_MAX))) {
    if (out.length >= ref.count) break;
    if (sharedParents.has(it.block)) continue;
    const leaf = await ctx.block(it.block, { level: 0 });
    if (leaf.header.owner !== ref.root) continue;
    const e = wrapItem(() => decodeFileExtent(it.data), ref.root, it);
    if (e.kind === 'inline' || e.diskBytenr !== bytenr) continue;
    if (itemRefOffset(it.key.offset, e.offset) !== ref.offset) continue;
    out.push({ tree: ref.root, leaf: it.block, slot: it.slot, ino: it.key.objectid, fileOffset: it.key.offset, extent: e, via: 'extent_data_ref' });
  }
  return out;
}

async function viaSharedDataRef(ctx: BackrefContext, rec: ExtentRecord, parent: bigint, add: (item: Omit<DataRefItem, 'roots'>) => void): Promise<void> {
  const leaf = await ctx.block(parent, { level: 0 });
  const owner = leaf.header.owner;
  for (let slot = 0; slot < leaf.items.length; slot++) {
    const k = leaf.items[slot]!.key;
    if (k.type !== KeyType.EXTENT_DATA) continue;
    const it = { key: k, block: parent, slot };
    const e = wrapItem(() => decodeFileExtent(itemData(leaf, slot)), owner, it);
    if (e.kind === 'inline' || e.diskBytenr !== rec.bytenr) continue;
    add({ tree: owner, leaf: parent, slot, ino: k.objectid, fileOffset: k.offset, extent: e, via: 'shared_data_ref' });
  }
}
