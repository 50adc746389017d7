// FIEMAP as the kernel answers it for a file of a committed, read-only filesystem (fs/btrfs/fiemap.c):
// one extent per file extent item, with
//   - physical = disk_bytenr + offset for uncompressed and prealloc extents, disk_bytenr alone for
//     compressed ones (FIEMAP_EXTENT_ENCODED), 0 for inline data (FIEMAP_EXTENT_DATA_INLINE);
//   - length = the item's file range (inline: ram_bytes rounded up to the sector size);
//   - FIEMAP_EXTENT_UNWRITTEN for prealloc, FIEMAP_EXTENT_SHARED from the backref walk (shared.ts);
//   - neighbours merged when contiguous in the file and on disk with equal flags;
//   - FIEMAP_EXTENT_LAST on the last one. Holes are not reported; with no delalloc in an image there
//     is nothing else to report.

import type { Tree } from '../tree/tree.js';
import { fileExtentItems } from '../fs/file-extents.js';
import { isDataExtentShared } from '../backref/shared.js';
import type { BackrefContext } from '../backref/context.js';

export const FiemapFlag = {
  LAST: 0x1,
  UNKNOWN: 0x2,
  DELALLOC: 0x4,
  ENCODED: 0x8,
  NOT_ALIGNED: 0x100,
  DATA_INLINE: 0x200,
  UNWRITTEN: 0x800,
  SHARED: 0x2000,
} as const;

export interface FiemapExtent {
  /** File offset. */
  logical: bigint;
  physical: bigint;
  length: bigint;
  flags: number;
}

/** The extents FIEMAP reports for inode `ino` of the subvolume whose tree is `tree`. */
export async function fiemap(ctx: BackrefContext, tree: Tree, ino: bigint): Promise<FiemapExtent[]> {
  const out: FiemapExtent[] = [];
  const S = BigInt(ctx.fs.sectorsize);
  const root = tree.root.id;
  let cache: FiemapExtent | undefined;
  const emit = (e: FiemapExtent) => {
    if (cache && cache.logical + cache.length === e.logical && cache.physical + cache.length === e.physical && cache.flags === e.flags) {
      cache.length += e.length;
      return;
    }
    if (cache) out.push(cache);
    cache = { ...e };
  };
  for await (const raw of fileExtentItems(tree, ino, ctx.fs.sectorsize)) {
    const e = raw.extent;
    let flags = e.compression !== 0 ? FiemapFlag.ENCODED : 0;
    if (e.kind === 'inline') {
      const end = ((raw.fileOffset + e.ramBytes + S - 1n) / S) * S;
      emit({ logical: raw.fileOffset, physical: 0n, length: end - raw.fileOffset, flags: flags | FiemapFlag.DATA_INLINE | FiemapFlag.NOT_ALIGNED });
      continue;
    }
    if (e.diskBytenr === 0n) continue;
    if (e.kind === 'prealloc') flags |= FiemapFlag.UNWRITTEN;
    if (await isDataExtentShared(ctx, root, ino, e.diskBytenr, e.generation)) flags |= FiemapFlag.SHARED;
    const physical = e.diskBytenr + (e.compression === 0 ? e.offset : 0n);
    emit({ logical: raw.fileOffset, physical, length: raw.length, flags });
  }
  if (cache) {
    cache.flags |= FiemapFlag.LAST;
    out.push(cache);
  }
  return out;
}
