// Can a file other than this one reach this data extent? The one place that answers it, for the
// reader (which reads data nobody else can reach straight into the caller's buffer, and plans the
// rest so each shared extent is read once), the emulator (which caches a multiply referenced
// compressed extent whole) and `map` (which shows the reference count).
//
// Two ways to reach an extent: another file extent item points at it (the extent tree counts more
// than one reference), or another tree reaches the very leaf holding this file's item — the kernel's
// btrfs_block_can_be_shared test: a block owned by another tree, or written no later than its tree's
// last snapshot. (A shared node makes every block below it old enough too, so the leaf alone decides.)

import { KeyType, ObjectId } from '../ondisk/constants.js';
import { extentItemRefs } from '../ondisk/items/extent-item.js';
import { key } from '../ondisk/key.js';
import { wrapItem, type Filesystem } from '../fs/filesystem.js';
import type { Tree } from '../tree/tree.js';
import { TwoGenerationMap } from '../cache/two-generations.js';

/** Extents whose reference count is remembered (per generation; two are kept). */
const REMEMBERED = 1 << 16;

export class Shareability {
  private readonly refCounts = new TwoGenerationMap<bigint, bigint | null>(REMEMBERED);
  private extentTree: Promise<Tree | undefined> | undefined;

  constructor(private readonly fs: Filesystem) {}

  /** The extent item's reference count, or null when the extent tree has no item for it. */
  async refs(diskBytenr: bigint, diskNumBytes: bigint): Promise<bigint | null> {
    const known = this.refCounts.get(diskBytenr);
    if (known !== undefined) return known;
    this.extentTree ??= (async () => ((await this.fs.rootItem(ObjectId.EXTENT_TREE)) ? this.fs.tree(ObjectId.EXTENT_TREE) : undefined))();
    const tree = await this.extentTree;
    const hit = tree ? await tree.get(key(diskBytenr, KeyType.EXTENT_ITEM, diskNumBytes)) : undefined;
    const refs = hit ? wrapItem(() => extentItemRefs(hit.data), ObjectId.EXTENT_TREE, hit) : null;
    this.refCounts.set(diskBytenr, refs);
    return refs;
  }

  /**
   * Referenced by more than one file extent item (other items may use other parts of it). Without an
   * extent item to say otherwise, assume so: a reader then does the safe thing.
   */
  async multiplyReferenced(diskBytenr: bigint, diskNumBytes: bigint): Promise<boolean> {
    const refs = await this.refs(diskBytenr, diskNumBytes);
    return refs === null || refs > 1n;
  }

  /**
   * Could a file other than the one whose item in tree `subvol`, leaf `leaf`, points at this extent
   * read its data?
   */
  async canBeShared(subvol: bigint, extent: { diskBytenr: bigint; diskNumBytes: bigint }, leaf: bigint): Promise<boolean> {
    if (await this.leafCanBeShared(subvol, leaf)) return true;
    return this.multiplyReferenced(extent.diskBytenr, extent.diskNumBytes);
  }

  private async leafCanBeShared(subvol: bigint, leaf: bigint): Promise<boolean> {
    const root = await this.fs.rootItem(subvol);
    if (!root) return true;
    const block = await this.fs.blocks.read(leaf, { tree: subvol });
    return block.header.owner !== subvol || block.header.generation <= root.item.last_snapshot;
  }
}
