// Data checksums: EXTENT_CSUM items in the csum tree, keyed by the logical address of their first
// sector, each holding the sums of consecutive sectors.

import { CorruptError } from '../errors.js';
import { KeyType, ObjectId } from '../ondisk/constants.js';
import { key } from '../ondisk/key.js';
import type { Tree } from '../tree/tree.js';

export interface SectorSums {
  /** sectors * csumSize bytes; valid where `present` is 1. */
  sums: Buffer;
  present: Uint8Array;
}

export class CsumTree {
  constructor(private readonly tree: Tree | undefined, readonly csumSize: number, readonly sectorsize: number) {}

  /** Stored sums for `sectors` consecutive sectors starting at `logical`. */
  async lookup(logical: bigint, sectors: number): Promise<SectorSums> {
    const size = this.csumSize;
    const S = BigInt(this.sectorsize);
    const sums = Buffer.alloc(sectors * size);
    const present = new Uint8Array(sectors);
    if (!this.tree || sectors === 0) return { sums, present };
    const end = logical + BigInt(sectors) * S;
    for await (const it of this.tree.rangeWithFloor(key(ObjectId.EXTENT_CSUM, KeyType.EXTENT_CSUM, logical), key(ObjectId.EXTENT_CSUM, KeyType.EXTENT_CSUM, end - 1n))) {
      if (it.key.objectid !== ObjectId.EXTENT_CSUM || it.key.type !== KeyType.EXTENT_CSUM) continue;
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
        it.data.copy(sums, dst * size, src, src + n * size);
        present.fill(1, dst, dst + n);
      }
    }
    return { sums, present };
  }
}
