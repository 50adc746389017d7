// Is a data extent shared, as FIEMAP's FIEMAP_EXTENT_SHARED flag says (the kernel's
// btrfs_is_data_extent_shared, the flag `btrfs filesystem du` builds on)? Seen from one inode of one
// subvolume, an extent is shared when:
//
// 1. one of its data references names another inode, or it has two different references (another
//    subvolume, another file-offset base, a shared leaf); otherwise
// 2. it is not shared if it is newer than the subvolume's last snapshot (no snapshot can share the
//    leaf that points at it); otherwise
// 3. a reference naming another subvolume makes it shared; otherwise the leaves holding the inode's
//    file extent items are found and walked up towards the root: any tree block on the way that
//    another tree references (a TREE_BLOCK_REF of another root) makes it shared, as the leaf is then
//    part of a snapshot's tree too.
//
// Several file extent items referencing one extent from one inode (a partially overwritten extent)
// do not make it shared: they stand behind one EXTENT_DATA_REF with a count.

import { isBtrfsError } from '../errors.js';
import { MAX_LEVEL, ObjectId } from '../ondisk/constants.js';
import { BoundedMemo, type BackrefContext } from './context.js';
import { itemsOfExtentDataRef } from './data-refs.js';
import { firstKeyOf, nodeOnPath } from './tree-path.js';

/** Tree blocks one sharedness check may visit (each level up is one block per path; paths merge). */
const MAX_BLOCKS_PER_CHECK = 1 << 16;

const memos = new WeakMap<BackrefContext, BoundedMemo<string, Promise<boolean>>>();

/** FIEMAP's shared flag for data extent `bytenr` seen from inode `ino` of subvolume `root`, for a file extent item of generation `gen`. */
export function isDataExtentShared(ctx: BackrefContext, root: bigint, ino: bigint, bytenr: bigint, gen: bigint): Promise<boolean> {
  let memo = memos.get(ctx);
  if (!memo) {
    memo = new BoundedMemo(1 << 16);
    memos.set(ctx, memo);
  }
  const id = `${root}:${ino}:${bytenr}:${gen}`;
  let pending = memo.get(id);
  if (!pending) {
    pending = check(ctx, root, ino, bytenr, gen);
    memo.set(id, pending);
  }
  return pending;
}

interface IndirectRef {
  root: bigint;
  objectid: bigint;
  offset: bigint;
  count: number;
}

async function check(ctx: BackrefContext, root: bigint, ino: bigint, bytenr: bigint, gen: bigint): Promise<boolean> {
  const rec = await ctx.record(bytenr);
  if (!rec) return false;
  // Step 1: distinct references with a positive count, merged as the kernel merges them.
  const indirect = new Map<string, IndirectRef>();
  const direct = new Map<bigint, number>();
  for (const r of rec.refs) {
    if (r.type === 'extent_data') {
      if (r.objectid !== ino) return true;
      if (r.root === ObjectId.DATA_RELOC_TREE) continue;
      const id = `${r.root}:${r.objectid}:${r.offset}`;
      const had = indirect.get(id);
      if (had) had.count += r.count;
      else indirect.set(id, { root: r.root, objectid: r.objectid, offset: r.offset, count: r.count });
    } else if (r.type === 'shared_data') {
      direct.set(r.parent, (direct.get(r.parent) ?? 0) + r.count);
    } else continue;
    let distinct = 0;
    for (const x of indirect.values()) if (x.count > 0) distinct++;
    for (const c of direct.values()) if (c > 0) distinct++;
    if (distinct > 1) return true;
  }
  // Step 2.
  const item = await ctx.rootItem(root);
  if (!item || gen > item.last_snapshot) return false;
  // Step 3.
  for (const r of indirect.values()) if (r.count > 0 && r.root !== root) return true;
  const blocks: Array<{ bytenr: bigint; level: number }> = [];
  for (const [parent, count] of direct) if (count > 0) blocks.push({ bytenr: parent, level: 0 });
  for (const r of indirect.values()) {
    if (r.count <= 0) continue;
    const items = await itemsOfExtentDataRef(ctx, bytenr, r, new Set(direct.keys()));
    for (const leaf of new Set(items.map((x) => x.leaf))) blocks.push({ bytenr: leaf, level: 0 });
  }
  const seen = new Set<bigint>();
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    if (seen.has(b.bytenr)) continue;
    seen.add(b.bytenr);
    if (seen.size > MAX_BLOCKS_PER_CHECK) break;
    try {
      const up = await parentsWithin(ctx, root, b.bytenr, b.level);
      if (up === 'shared') return true;
      for (const p of up) blocks.push(p);
    } catch (e) {
      if (!isBtrfsError(e)) throw e;
      ctx.note(e);
    }
  }
  return false;
}

/** The parents of a tree block within `root`'s view, or 'shared' when another tree references it. */
async function parentsWithin(ctx: BackrefContext, root: bigint, bytenr: bigint, level: number): Promise<'shared' | Array<{ bytenr: bigint; level: number }>> {
  if (level >= MAX_LEVEL) return [];
  const rec = await ctx.record(bytenr);
  if (!rec) return [];
  const out: Array<{ bytenr: bigint; level: number }> = [];
  for (const r of rec.refs) {
    if (r.type === 'shared_block') out.push({ bytenr: r.parent, level: level + 1 });
    else if (r.type === 'tree_block') {
      if (r.root === ObjectId.DATA_RELOC_TREE) continue;
      if (r.root !== root) return 'shared';
      const treeRoot = await ctx.treeRoot(root);
      if (!treeRoot || treeRoot.level === level) continue;
      const block = await ctx.block(bytenr, { level });
      const first = firstKeyOf(block);
      if (!first) continue;
      const parent = await nodeOnPath(ctx, treeRoot, first, level + 1);
      if (parent) out.push({ bytenr: parent.header.bytenr, level: level + 1 });
    }
  }
  return out;
}
