// The chunk map: logical address ranges to chunks, bootstrapped from the superblock's
// sys_chunk_array and completed from the chunk tree.

import { CorruptError } from '../errors.js';
import { KeyType, ObjectId } from '../ondisk/constants.js';
import { diskKey } from '../ondisk/key.js';
import { decodeChunk, type ChunkItem } from '../ondisk/items/chunk.js';
import type { SuperBlock } from '../ondisk/superblock.js';
import { validateChunk, type Profile } from './raid.js';

export interface MappedChunk extends ChunkItem {
  /** Logical start (the chunk item's key offset). */
  logical: bigint;
  profile: Profile;
}

export class ChunkMap {
  private readonly sorted: MappedChunk[] = [];

  constructor(private readonly sectorsize: number) {}

  /** Add a chunk; a re-add of the same range is ignored, an overlap with a different one is corrupt. */
  add(logical: bigint, chunk: ChunkItem): void {
    const profile = validateChunk(chunk, this.sectorsize, logical);
    const mapped: MappedChunk = { ...chunk, logical, profile };
    const end = logical + chunk.length;
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]!.logical < logical) lo = mid + 1;
      else hi = mid;
    }
    const next = this.sorted[lo];
    if (next && next.logical === logical && next.length === chunk.length) return;
    const prev = this.sorted[lo - 1];
    if ((prev && prev.logical + prev.length > logical) || (next && next.logical < end)) {
      throw new CorruptError(`chunk [${logical}, ${end}) overlaps another chunk`, { logical });
    }
    this.sorted.splice(lo, 0, mapped);
  }

  find(logical: bigint): MappedChunk | undefined {
    let lo = 0;
    let hi = this.sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = this.sorted[mid]!;
      if (logical < c.logical) hi = mid - 1;
      else if (logical >= c.logical + c.length) lo = mid + 1;
      else return c;
    }
    return undefined;
  }

  all(): readonly MappedChunk[] {
    return this.sorted;
  }

  /** Bootstrap: the system chunks stored in the superblock, enough to read the chunk tree. */
  static fromSuperblock(sb: SuperBlock): ChunkMap {
    const map = new ChunkMap(sb.sectorsize);
    const array = sb.sys_chunk_array.subarray(0, sb.sys_chunk_array_size);
    let at = 0;
    for (let i = 0; at < array.length; i++) {
      if (i > array.length) throw new CorruptError('sys_chunk_array does not terminate');
      const k = diskKey.decode(array, at);
      if (k.type !== KeyType.CHUNK_ITEM || k.objectid !== ObjectId.FIRST_CHUNK_TREE) {
        throw new CorruptError(`sys_chunk_array entry ${i}: unexpected key type ${k.type} objectid ${k.objectid}`);
      }
      at += diskKey.size;
      const { chunk, size } = decodeChunk(array, at);
      map.add(k.offset, chunk);
      at += size;
    }
    if (map.sorted.length === 0) throw new CorruptError('sys_chunk_array holds no chunks');
    return map;
  }
}
