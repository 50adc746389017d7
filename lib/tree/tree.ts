// One B-tree: point lookups, floor lookups and ordered range iteration. Depth is bounded by levels
// strictly decreasing from the root; iteration is bounded by requiring keys to strictly increase.

import { CorruptError } from '../errors.js';
import { compareKeys, formatKey, type Key } from '../ondisk/key.js';
import { itemData, type TreeBlock } from '../ondisk/node.js';
import type { BlockReader } from './block-reader.js';

export interface TreeRoot {
  /** Tree id (objectid of its ROOT_ITEM, or 1 for the root tree, 3 for the chunk tree). */
  id: bigint;
  bytenr: bigint;
  level: number;
  generation?: bigint | undefined;
}

export interface TreeItem {
  key: Key;
  /** A view into the cached block: decode it, do not keep it. */
  data: Buffer;
  block: bigint;
  slot: number;
}

interface PathStep {
  block: TreeBlock;
  slot: number;
}

/** Index of the last element whose key is <= target, or -1. */
function lastAtOrBefore(keys: ReadonlyArray<{ key: Key }>, target: Key): number {
  let lo = 0;
  let hi = keys.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(keys[mid]!.key, target) <= 0) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

export class Tree {
  /**
   * The path of the last descent. Readers look up neighbouring keys one after another (an inode's
   * items, then the next inode's), and a key inside the last leaf's key range is in that leaf: the
   * descent from the root is skipped.
   */
  private finger: PathStep[] | undefined;

  constructor(readonly reader: BlockReader, readonly root: TreeRoot) {}

  private rootBlock(): Promise<TreeBlock> {
    return this.reader.read(this.root.bytenr, { tree: this.root.id, level: this.root.level, generation: this.root.generation });
  }

  private child(parent: TreeBlock, slot: number): Promise<TreeBlock> {
    const ptr = parent.ptrs[slot]!;
    return this.reader.read(ptr.blockptr, { tree: this.root.id, level: parent.level - 1, generation: ptr.generation, firstKey: ptr.key });
  }

  /**
   * Descend towards `target`, taking at every node the last pointer whose key is <= target. The
   * caller owns the returned path (walkFrom moves along it).
   */
  private async descend(target: Key): Promise<PathStep[]> {
    const finger = this.finger;
    if (finger) {
      const items = finger[finger.length - 1]!.block.items;
      if (items.length > 0 && compareKeys(items[0]!.key, target) <= 0 && compareKeys(target, items[items.length - 1]!.key) <= 0) {
        const path = finger.map((step) => ({ block: step.block, slot: step.slot }));
        path[path.length - 1]!.slot = lastAtOrBefore(items, target);
        return path;
      }
    }
    const path: PathStep[] = [];
    let block = await this.rootBlock();
    for (;;) {
      if (block.level === 0) {
        path.push({ block, slot: lastAtOrBefore(block.items, target) });
        this.finger = path.map((step) => ({ block: step.block, slot: step.slot }));
        return path;
      }
      const slot = Math.max(0, lastAtOrBefore(block.ptrs, target));
      path.push({ block, slot });
      block = await this.child(block, slot);
    }
  }

  /** The item with exactly this key. */
  async get(k: Key): Promise<TreeItem | undefined> {
    const hit = await this.floor(k);
    return hit && compareKeys(hit.key, k) === 0 ? hit : undefined;
  }

  /** The item with the greatest key <= k. */
  async floor(k: Key): Promise<TreeItem | undefined> {
    const path = await this.descend(k);
    const leaf = path[path.length - 1]!;
    if (leaf.slot < 0) return undefined;
    return this.itemAt(leaf.block, leaf.slot);
  }

  private itemAt(block: TreeBlock, slot: number): TreeItem {
    return { key: block.items[slot]!.key, data: itemData(block, slot), block: block.header.bytenr, slot };
  }

  /** Items with min <= key <= max, in key order. */
  range(min: Key, max: Key): AsyncGenerator<TreeItem> {
    return this.walkFrom(min, max, false);
  }

  /**
   * The item with the greatest key <= min (if any), then the items with min < key <= max: a floor
   * lookup and a range in one descent, for ranges that start inside an item (file extents, csums).
   */
  rangeWithFloor(min: Key, max: Key): AsyncGenerator<TreeItem> {
    return this.walkFrom(min, max, true);
  }

  private async *walkFrom(min: Key, max: Key, withFloor: boolean): AsyncGenerator<TreeItem> {
    const path = await this.descend(min);
    const leafStep = path[path.length - 1]!;
    // descend() left the leaf slot at the last key <= min; start there or at the first key >= min.
    if (leafStep.slot < 0 || (!withFloor && compareKeys(leafStep.block.items[leafStep.slot]!.key, min) < 0)) leafStep.slot++;
    let previous: Key | undefined;
    for (;;) {
      const leaf = path[path.length - 1]!;
      while (leaf.slot < leaf.block.items.length) {
        const it = this.itemAt(leaf.block, leaf.slot);
        if (compareKeys(it.key, max) > 0) return;
        if (previous && compareKeys(previous, it.key) >= 0) {
          throw new CorruptError(`key order broken across blocks, ${formatKey(previous)} then ${formatKey(it.key)}`, {
            tree: this.root.id, block: it.block, slot: it.slot, key: formatKey(it.key),
          });
        }
        previous = it.key;
        yield it;
        leaf.slot++;
      }
      if (!(await this.nextLeaf(path))) return;
    }
  }

  /** Move `path` to the first slot of the next leaf; false at the end of the tree. */
  private async nextLeaf(path: PathStep[]): Promise<boolean> {
    let level = path.length - 2;
    while (level >= 0 && path[level]!.slot + 1 >= path[level]!.block.ptrs.length) level--;
    if (level < 0) return false;
    path[level]!.slot++;
    path.length = level + 1;
    let block = path[level]!.block;
    while (block.level > 0) {
      const slot = path[path.length - 1]!.slot;
      block = await this.child(block, slot);
      path.push({ block, slot: 0 });
    }
    return true;
  }

  /** Every block of the tree, parents before children (for check and dump-tree). */
  async *blocks(): AsyncGenerator<TreeBlock> {
    const stack: Array<{ block: TreeBlock; next: number }> = [{ block: await this.rootBlock(), next: 0 }];
    yield stack[0]!.block;
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.block.level === 0 || top.next >= top.block.ptrs.length) {
        stack.pop();
        continue;
      }
      const child = await this.child(top.block, top.next++);
      yield child;
      stack.push({ block: child, next: 0 });
    }
  }
}
