// Which trees reach a tree block: walk up through the block's own back references. A TREE_BLOCK_REF
// names a tree whose search path leads to the block (it is that tree's root, or its parent is found
// by searching that tree for the block's first key); a SHARED_BLOCK_REF names the parent block
// itself (full back references, after a snapshot's shared block was copied). Parents are one level
// up, so the walk is at most MAX_LEVEL deep, and each block is walked once per context.

import { CorruptError, isBtrfsError } from '../errors.js';
import { MAX_LEVEL, ObjectId } from '../ondisk/constants.js';
import type { BackrefContext } from './context.js';
import { firstKeyOf, nodeOnPath } from './tree-path.js';

/** Tree ids (sorted, unique) whose tree contains the block at `bytenr`. */
export function rootsOfBlock(ctx: BackrefContext, bytenr: bigint, level?: number): Promise<bigint[]> {
  let pending = ctx.blockRoots.get(bytenr);
  if (!pending) {
    pending = walkUp(ctx, bytenr, level);
    ctx.blockRoots.set(bytenr, pending);
  }
  return pending;
}

async function walkUp(ctx: BackrefContext, bytenr: bigint, level: number | undefined): Promise<bigint[]> {
  const block = await ctx.block(bytenr, { level });
  if (block.level >= MAX_LEVEL) throw new CorruptError(`tree block level ${block.level} out of range`, { block: bytenr });
  const rec = await ctx.record(bytenr);
  if (!rec || !rec.isTreeBlock) {
    ctx.note(new CorruptError('tree block has no extent item', { block: bytenr, logical: bytenr }));
    return [];
  }
  const roots = new Set<bigint>();
  const parents: bigint[] = [];
  for (const ref of rec.refs) {
    if (ref.type === 'shared_block') parents.push(ref.parent);
    else if (ref.type === 'tree_block') {
      if (ref.root === ObjectId.DATA_RELOC_TREE) continue;
      const root = await ctx.treeRoot(ref.root);
      if (!root) {
        ctx.note(new CorruptError(`tree block references tree ${ref.root}, which has no root`, { block: bytenr }));
        continue;
      }
      // As the kernel: a tree whose root sits at this block's level has this block as its root.
      if (root.level === block.level) {
        roots.add(ref.root);
        continue;
      }
      const first = firstKeyOf(block);
      if (!first) continue;
      const parent = await nodeOnPath(ctx, root, first, block.level + 1);
      if (parent) parents.push(parent.header.bytenr);
    }
  }
  for (const parent of new Set(parents)) {
    try {
      for (const r of await rootsOfBlock(ctx, parent, block.level + 1)) roots.add(r);
    } catch (e) {
      if (!isBtrfsError(e)) throw e;
      ctx.note(e);
    }
  }
  return [...roots].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
