// Data checksums: EXTENT_CSUM items in the csum tree, keyed by the logical address of their first
// sector, each holding the sums of consecutive sectors.

import { CorruptError } from '../errors.js';
import { KeyType, ObjectId } from '../ondisk/constants.js';
import { key } from '../ondisk/key.js';
import type { Tree, TreeItem } from '../tree/tree.js';

export interface SectorSums {
  /** sectors * csumSize bytes; valid where `present` is 1. */
  sums: Buffer;
  present: Uint8Array;
}

export class CsumTree {
  constructor(private readonly tree: Tree | undefined, readonly csumSize: number, readonly sectorsize: number) {}

  /** Stored sums for `sectors` consecutive sectors starting at `logical`. */
  async lookup(logical: bigint, sectors: number): Promise<SectorSums> {
    const sums = Buffer.alloc(sectors * this.csumSize);
    const present = new Uint8Array(sectors);
    const found = { sums, present };
    if (!this.tree || sectors === 0) return found;
    const end = logical + BigInt(sectors) * BigInt(this.sectorsize);
    const min = key(ObjectId.EXTENT_CSUM, KeyType.EXTENT_CSUM, logical);
    const max = key(ObjectId.EXTENT_CSUM, KeyType.EXTENT_CSUM, end - 1n);
    // From cached blocks without an async iteration when it can (this runs for every data read).
    const items = this.tree.rangeCached(min, max, CACHED_ITEMS, true);
    if (items) for (const it of items) this.take(it, logical, end, found);
    else for await (const it of this.tree.rangeWithFloor(min, max)) this.take(it, logical, end, found);
    return found;
  }

  /** Copy the sums item `it` holds for sectors in [logical, end). */
  private take(it: TreeItem, logical: bigint, end: bigint, into: SectorSums): void {
    if (it.key.objectid !== ObjectId.EXTENT_CSUM || it.key.type !== KeyType.EXTENT_CSUM) return;
    const size = this.csumSize;
    const S = BigInt(this.sectorsize);
    if (it.data.length % size !== 0) {
      throw new CorruptError(`csum item size ${it.data.length} is not a multiple of ${size}`, { tree: ObjectId.CSUM_TREE, block: it.block, slot: it.slot });
    }
    const itemStart = it.key.offset;
    if (itemStart % S !== 0n) throw new CorruptError(`unaligned csum item offset ${itemStart}`, { tree: ObjectId.CSUM_TREE, block: it.block, slot: it.slot });
    const count = it.data.length / size;
    const itemEnd = itemStart + BigInt(count) * S;
    const from = itemStart > logical ? itemStart : logical;
    const to = itemEnd < end ? itemEnd : end;
    if (from < to) {
      const src = Number((from - itemStart) / S) * size;
      const dst = Number((from - logical) / S);
      const n = Number((to - from) / S);
      it.data.copy(into.sums, dst * size, src, src + n * size);
      into.present.fill(1, dst, dst + n);
    }
  }
}

/** csum items a lookup takes synchronously at most (a read spans a handful). */
const CACHED_ITEMS = 64;
