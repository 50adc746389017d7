// Whether a data extent is referenced by more than one file extent item, from its EXTENT_ITEM in the
// extent tree. With one reference, every file that reaches the extent (a snapshot shares the very
// leaf) sees the same range of it; with more, other items may use other parts of it.

import type { Btrfs } from '../fs/btrfs.js';
import { wrapItem } from '../fs/filesystem.js';
import { KeyType, ObjectId } from '../ondisk/constants.js';
import { decodeExtentItem } from '../ondisk/items/extent-item.js';
import { key } from '../ondisk/key.js';
import type { Tree } from '../tree/tree.js';

const MAX_REMEMBERED = 1 << 20;

export class ExtentRefs {
  private tree: Promise<Tree | undefined> | undefined;
  private readonly known = new Map<bigint, boolean>();

  constructor(private readonly btrfs: Btrfs) {}

  async multiplyReferenced(diskBytenr: bigint, diskNumBytes: bigint): Promise<boolean> {
    const known = this.known.get(diskBytenr);
    if (known !== undefined) return known;
    this.tree ??= (async () => ((await this.btrfs.filesystem.rootItem(ObjectId.EXTENT_TREE)) ? this.btrfs.filesystem.tree(ObjectId.EXTENT_TREE) : undefined))();
    const tree = await this.tree;
    const hit = tree ? await tree.get(key(diskBytenr, KeyType.EXTENT_ITEM, diskNumBytes)) : undefined;
    // Without an extent item to say otherwise, assume other references exist (cache the extent whole).
    const multi = hit ? wrapItem(() => decodeExtentItem(hit.data, KeyType.EXTENT_ITEM), ObjectId.EXTENT_TREE, hit).refs > 1n : true;
    if (this.known.size >= MAX_REMEMBERED) this.known.clear();
    this.known.set(diskBytenr, multi);
    return multi;
  }
}
