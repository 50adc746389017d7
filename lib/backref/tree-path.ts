// The node at one level on a tree's search path for a key: how an indirect tree block reference
// (TREE_BLOCK_REF: "tree R points at this block") is turned into the parent block, as the kernel's
// resolve_indirect_ref does with btrfs_search_slot and lowest_level.

import { compareKeys, type Key } from '../ondisk/key.js';
import type { TreeBlock } from '../ondisk/node.js';
import type { TreeRoot } from '../tree/tree.js';
import type { BackrefContext } from './context.js';

/** Slot of the last pointer whose key is <= k, or 0 (the kernel's search takes slot 0 for a smaller key). */
function pointerSlot(block: TreeBlock, k: Key): number {
  let lo = 0;
  let hi = block.ptrs.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(block.ptrs[mid]!.key, k) <= 0) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * The block at `level` on the path from `root` towards `k`; undefined when the tree is not that tall.
 * Levels strictly decrease on the way down (the block reader checks each child's level), so the loop
 * runs at most root.level times.
 */
export async function nodeOnPath(ctx: BackrefContext, root: TreeRoot, k: Key, level: number): Promise<TreeBlock | undefined> {
  if (root.level < level) return undefined;
  let block = await ctx.fs.blocks.read(root.bytenr, { tree: root.id, level: root.level, generation: root.generation });
  while (block.level > level) {
    const ptr = block.ptrs[pointerSlot(block, k)];
    if (!ptr) return undefined;
    block = await ctx.fs.blocks.read(ptr.blockptr, { tree: root.id, level: block.level - 1, generation: ptr.generation, firstKey: ptr.key });
  }
  return block;
}

/** The first key of a block (what a search for it uses). */
export function firstKeyOf(block: TreeBlock): Key | undefined {
  return block.level === 0 ? block.items[0]?.key : block.ptrs[0]?.key;
}
