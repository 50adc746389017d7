// One B-tree: point lookups, floor lookups and ordered range iteration. Depth is bounded by levels
// strictly decreasing from the root; iteration is bounded by requiring keys to strictly increase.

import { CorruptError } from '../errors.js';
import { compareKeys, formatKey, type Key } from '../ondisk/key.js';
import { itemData, type TreeBlock } from '../ondisk/node.js';
import type { BlockExpectation, BlockReader } from './block-reader.js';

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

/** Put the leaf slot of a fresh descent at the first item of a range from `min`. */
function startAt(path: PathStep[], min: Key, withFloor: boolean): void {
  const leaf = path[path.length - 1]!;
  // The descent left the leaf slot at the last key <= min; start there or at the first key >= min.
  if (leaf.slot < 0 || (!withFloor && compareKeys(leaf.block.items[leaf.slot]!.key, min) < 0)) leaf.slot++;
}

export class Tree {
  /**
   * The path of the last descent. Readers look up neighbouring keys one after another (an inode's
   * items, then the next inode's), and a key inside the last leaf's key range is in that leaf: the
   * descent from the root is skipped.
   */
  private finger: PathStep[] | undefined;

  constructor(readonly reader: BlockReader, readonly root: TreeRoot) {}

  private rootExpectation(): BlockExpectation {
    return { tree: this.root.id, level: this.root.level, generation: this.root.generation };
  }

  private childExpectation(parent: TreeBlock, slot: number): BlockExpectation {
    const ptr = parent.ptrs[slot]!;
    return { tree: this.root.id, level: parent.level - 1, generation: ptr.generation, firstKey: ptr.key };
  }

  private rootBlock(): Promise<TreeBlock> {
    return this.reader.read(this.root.bytenr, this.rootExpectation());
  }

  private child(parent: TreeBlock, slot: number): Promise<TreeBlock> {
    return this.reader.read(parent.ptrs[slot]!.blockptr, this.childExpectation(parent, slot));
  }

  // Lookups run in two halves: a synchronous one over cached blocks (nearly always enough: the upper
  // levels and the leaves around the last lookup are in memory), and an asynchronous one that loads
  // what is missing. Callers that take an array (rangeCached) save the promises of an async iteration.

  /** The descent of descend() using cached blocks only; undefined as soon as one is not cached. */
  private descendCached(target: Key): PathStep[] | undefined {
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
    let block = this.reader.cached(this.root.bytenr, this.rootExpectation());
    while (block) {
      if (block.level === 0) return this.landed(path, block, target);
      const slot = Math.max(0, lastAtOrBefore(block.ptrs, target));
      path.push({ block, slot });
      block = this.reader.cached(block.ptrs[slot]!.blockptr, this.childExpectation(block, slot));
    }
    return undefined;
  }

  /**
   * Descend towards `target`, taking at every node the last pointer whose key is <= target. The
   * caller owns the returned path (walkFrom moves along it).
   */
  private async descend(target: Key): Promise<PathStep[]> {
    const cached = this.descendCached(target);
    if (cached) return cached;
    const path: PathStep[] = [];
    let block = await this.rootBlock();
    for (;;) {
      if (block.level === 0) return this.landed(path, block, target);
      const slot = Math.max(0, lastAtOrBefore(block.ptrs, target));
      path.push({ block, slot });
      block = await this.child(block, slot);
    }
  }

  /** End a descent at `leaf`; the path is remembered for the next lookup. */
  private landed(path: PathStep[], leaf: TreeBlock, target: Key): PathStep[] {
    path.push({ block: leaf, slot: lastAtOrBefore(leaf.items, target) });
    this.finger = path.map((step) => ({ block: step.block, slot: step.slot }));
    return path;
  }

  /** The item with exactly this key. */
  get(k: Key): Promise<TreeItem | undefined> {
    return this.floor(k).then((hit) => (hit && compareKeys(hit.key, k) === 0 ? hit : undefined));
  }

  /** The item with the greatest key <= k. */
  floor(k: Key): Promise<TreeItem | undefined> {
    let path: PathStep[] | undefined;
    try {
      path = this.descendCached(k);
    } catch (e) {
      return Promise.reject(e);
    }
    if (path) return Promise.resolve(this.floorOf(path));
    return this.descend(k).then((p) => this.floorOf(p));
  }

  private floorOf(path: PathStep[]): TreeItem | undefined {
    const leaf = path[path.length - 1]!;
    return leaf.slot < 0 ? undefined : this.itemAt(leaf.block, leaf.slot);
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

  /**
   * What range() (or rangeWithFloor(), `withFloor`) would yield, as an array, when every block it
   * needs is cached and it holds at most `limit` items; otherwise undefined (use the async form).
   */
  rangeCached(min: Key, max: Key, limit: number, withFloor = false): TreeItem[] | undefined {
    const path = this.descendCached(min);
    if (!path) return undefined;
    startAt(path, min, withFloor);
    const out: TreeItem[] = [];
    for (;;) {
      const leaf = path[path.length - 1]!;
      const items = leaf.block.items;
      for (; leaf.slot < items.length; leaf.slot++) {
        if (compareKeys(items[leaf.slot]!.key, max) > 0) return out;
        if (out.length >= limit) return undefined;
        const it = this.itemAt(leaf.block, leaf.slot);
        if (out.length) this.checkOrder(out[out.length - 1]!.key, it);
        out.push(it);
      }
      const moved = this.nextLeafCached(path);
      if (moved === undefined) return undefined;
      if (!moved) return out;
    }
  }

  /**
   * Calls `each` for the items min..max in key order: synchronously over cached blocks when the range
   * holds at most `cachedLimit` items (nearly always for one inode's items), loading blocks otherwise.
   * What `each` saw before an error stays seen.
   */
  async eachItem(min: Key, max: Key, each: (it: TreeItem) => void, cachedLimit = 256): Promise<void> {
    const cached = this.rangeCached(min, max, cachedLimit);
    if (cached) {
      for (const it of cached) each(it);
      return;
    }
    for await (const it of this.walkFrom(min, max, false)) each(it);
  }

  private async *walkFrom(min: Key, max: Key, withFloor: boolean): AsyncGenerator<TreeItem> {
    const path = await this.descend(min);
    startAt(path, min, withFloor);
    let previous: Key | undefined;
    for (;;) {
      const leaf = path[path.length - 1]!;
      while (leaf.slot < leaf.block.items.length) {
        const it = this.itemAt(leaf.block, leaf.slot);
        if (compareKeys(it.key, max) > 0) return;
        if (previous) this.checkOrder(previous, it);
        previous = it.key;
        yield it;
        leaf.slot++;
      }
      if (!(this.nextLeafCached(path) ?? (await this.nextLeaf(path)))) return;
    }
  }

  /** Keys must strictly increase across blocks too (the tree-checker sees one block at a time). */
  private checkOrder(previous: Key, it: TreeItem): void {
    if (compareKeys(previous, it.key) >= 0) {
      throw new CorruptError(`key order broken across blocks, ${formatKey(previous)} then ${formatKey(it.key)}`, {
        tree: this.root.id, block: it.block, slot: it.slot, key: formatKey(it.key),
      });
    }
  }

  /** The level above the leaf where the path moves right, or -1 at the end of the tree. */
  private static pivot(path: PathStep[]): number {
    let level = path.length - 2;
    while (level >= 0 && path[level]!.slot + 1 >= path[level]!.block.ptrs.length) level--;
    return level;
  }

  /**
   * nextLeaf() with cached blocks only: true when moved, false at the end of the tree, undefined
   * (path untouched) when a block on the way is not cached.
   */
  private nextLeafCached(path: PathStep[]): boolean | undefined {
    const level = Tree.pivot(path);
    if (level < 0) return false;
    const steps: PathStep[] = [];
    let block = path[level]!.block;
    let slot = path[level]!.slot + 1;
    while (block.level > 0) {
      const child = this.reader.cached(block.ptrs[slot]!.blockptr, this.childExpectation(block, slot));
      if (!child) return undefined;
      steps.push({ block: child, slot: 0 });
      block = child;
      slot = 0;
    }
    path[level]!.slot++;
    path.length = level + 1;
    path.push(...steps);
    return true;
  }

  /** Move `path` to the first slot of the next leaf; false at the end of the tree. */
  private async nextLeaf(path: PathStep[]): Promise<boolean> {
    const level = Tree.pivot(path);
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
