// Can any file other than this one reach this file extent's data? Yes when the extent tree counts
// more than one reference, or when the leaf holding the file extent item can itself be shared by
// snapshots — the kernel's btrfs_block_can_be_shared test: a block owned by another tree, or written
// no later than this tree's last snapshot. (A shared node makes every block below it old enough too,
// so the leaf alone decides.) Streaming readers bypass the page cache for data nobody else can reach.

import { KeyType, ObjectId } from '../ondisk/constants.js';
import { extentItemRefs } from '../ondisk/items/extent-item.js';
import { key } from '../ondisk/key.js';
import type { RegularExtent } from '../ondisk/items/file-extent.js';
import { wrapItem, type Filesystem } from './filesystem.js';

export class ShareabilityOracle {
  private readonly memo = new Map<bigint, boolean>();

  constructor(private readonly fs: Filesystem) {}

  async canBeShared(subvol: bigint, extent: RegularExtent, leaf: bigint): Promise<boolean> {
    const root = await this.fs.rootItem(subvol);
    if (!root) return true;
    const block = await this.fs.blocks.read(leaf, { tree: subvol });
    if (block.header.owner !== subvol || block.header.generation <= root.item.last_snapshot) return true;
    return this.extentHasOtherRefs(extent);
  }

  private async extentHasOtherRefs(extent: RegularExtent): Promise<boolean> {
    const known = this.memo.get(extent.diskBytenr);
    if (known !== undefined) return known;
    const extents = await this.fs.tree(ObjectId.EXTENT_TREE);
    const hit = await extents.get(key(extent.diskBytenr, KeyType.EXTENT_ITEM, extent.diskNumBytes));
    // No extent item to ask: assume the worst, the cache then does the right thing anyway.
    const shared = !hit || wrapItem(() => extentItemRefs(hit.data), ObjectId.EXTENT_TREE, hit) > 1n;
    if (this.memo.size > 65536) this.memo.clear();
    this.memo.set(extent.diskBytenr, shared);
    return shared;
  }
}
