// What lives at a logical address, from the extent tree alone (btrfs-progs' logical-resolve needs a
// mounted filesystem; this reads the image):
//
// - data: the extent holding the address and every file range whose bytes are there, as
//   (subvolume, inode, file offset). For an uncompressed extent a file extent item holds the address
//   when its window [offset, offset + num_bytes) of the extent covers it, and the file offset is
//   the item's key offset plus the distance into that window. A compressed extent is needed whole
//   by every item that references it, so each such item holds the address, at its key offset (as
//   the kernel's LOGICAL_INO reports it).
// - bookend: the address is inside an allocated data extent but no file range covers it (a partial
//   overwrite left the extent allocated for the parts still referenced);
// - tree block: metadata, with the trees that reach the block;
// - unallocated: no extent item holds it; then whether a chunk does, and of what type.

import { isBtrfsError } from '../errors.js';
import { BlockGroupFlag, COMPRESSION_NAMES } from '../ondisk/constants.js';
import { isFsTree } from '../ondisk/check.js';
import type { Profile } from '../volume/raid.js';
import type { BackrefContext } from './context.js';
import { dataRefItems, type DataRefItem } from './data-refs.js';
import type { ExtentRecord } from './extent-record.js';
import { rootsOfBlock } from './roots.js';

export interface ChunkInfo {
  start: bigint;
  length: bigint;
  /** DATA, METADATA, SYSTEM or a mix such as DATA|METADATA. */
  type: string;
  profile: Profile;
}

export interface ExtentInfo {
  bytenr: bigint;
  length: bigint;
  /** Reference count of the extent item. */
  refs: bigint;
  generation: bigint;
  flags: bigint;
}

/** One file extent item seen from one subvolume. */
export interface FileRange {
  subvol: bigint;
  ino: bigint;
  /** File offset of the address (uncompressed, covered) or of the item's start (compressed, or not covering). */
  fileOffset: bigint;
  /** Where the item's range starts in the file (its key offset) and how long it is. */
  itemOffset: bigint;
  itemLength: bigint;
  /** The item's window into the extent starts here (bytes of the uncompressed extent). */
  extentOffset: bigint;
  kind: 'regular' | 'prealloc';
  compression: string;
  /** The tree the item is stored in and the leaf holding it (the subvolume sees it through sharing when they differ). */
  tree: bigint;
  leaf: bigint;
}

export type LogicalResolution =
  | {
    kind: 'data';
    logical: bigint;
    chunk: ChunkInfo | null;
    extent: ExtentInfo;
    /** Distance of the address from the extent's start (in its on-disk bytes). */
    offsetInExtent: bigint;
    compressed: boolean;
    /** File ranges whose data is at this address. Empty: a bookend (see `bookend`). */
    hits: FileRange[];
    /** Every file range referencing the extent, wherever in it (btrfs-progs' logical-resolve -o). */
    references: FileRange[];
    bookend: boolean;
  }
  | { kind: 'tree-block'; logical: bigint; chunk: ChunkInfo | null; extent: ExtentInfo; level: number | null; owner: bigint | null; roots: bigint[] }
  | { kind: 'unallocated'; logical: bigint; chunk: ChunkInfo | null };

export function chunkInfo(ctx: BackrefContext, logical: bigint): ChunkInfo | null {
  const c = ctx.fs.volume.chunks.find(logical);
  if (!c) return null;
  const types: string[] = [];
  if (c.type & BlockGroupFlag.DATA) types.push('DATA');
  if (c.type & BlockGroupFlag.SYSTEM) types.push('SYSTEM');
  if (c.type & BlockGroupFlag.METADATA) types.push('METADATA');
  return { start: c.logical, length: c.length, type: types.join('|') || 'NONE', profile: c.profile };
}

function extentInfo(rec: ExtentRecord): ExtentInfo {
  return { bytenr: rec.bytenr, length: rec.length, refs: rec.item.refs, generation: rec.item.generation, flags: rec.item.flags };
}

/** Each item seen from every subvolume whose tree reaches its leaf. */
export function fileRangesOf(items: DataRefItem[], position?: bigint): Array<FileRange & { covers: boolean }> {
  const out: Array<FileRange & { covers: boolean }> = [];
  for (const item of items) {
    const e = item.extent;
    const compressed = e.compression !== 0;
    let covers = true;
    let fileOffset = item.fileOffset;
    if (position !== undefined && !compressed) {
      covers = position >= e.offset && position < e.offset + e.numBytes;
      if (covers) fileOffset = item.fileOffset + (position - e.offset);
    }
    const subvols = item.roots.filter(isFsTree);
    for (const subvol of subvols.length ? subvols : [item.tree]) {
      out.push({
        subvol, ino: item.ino, fileOffset, itemOffset: item.fileOffset, itemLength: e.numBytes, extentOffset: e.offset, kind: e.kind,
        compression: COMPRESSION_NAMES[e.compression] ?? `unknown(${e.compression})`, tree: item.tree, leaf: item.leaf, covers,
      });
    }
  }
  return out.sort((a, b) => cmp(a.subvol, b.subvol) || cmp(a.ino, b.ino) || cmp(a.itemOffset, b.itemOffset) || cmp(a.leaf, b.leaf));
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function logicalResolve(ctx: BackrefContext, logical: bigint): Promise<LogicalResolution> {
  const chunk = chunkInfo(ctx, logical);
  const rec = await ctx.containing(logical);
  if (!rec) return { kind: 'unallocated', logical, chunk };
  const extent = extentInfo(rec);
  if (rec.isTreeBlock) {
    let level: number | null = rec.level ?? null;
    let owner: bigint | null = null;
    let roots: bigint[] = [];
    try {
      const block = await ctx.block(rec.bytenr, { level: rec.level });
      level = block.level;
      owner = block.header.owner;
      roots = await rootsOfBlock(ctx, rec.bytenr, block.level);
    } catch (e) {
      if (!isBtrfsError(e)) throw e;
      ctx.note(e);
    }
    return { kind: 'tree-block', logical, chunk, extent, level, owner, roots };
  }
  const offsetInExtent = logical - rec.bytenr;
  const ranges = fileRangesOf(await dataRefItems(ctx, rec), offsetInExtent);
  const compressed = ranges.some((r) => r.compression !== 'none');
  const strip = ({ covers: _covers, ...r }: FileRange & { covers: boolean }): FileRange => r;
  const hits = ranges.filter((r) => r.covers).map(strip);
  return { kind: 'data', logical, chunk, extent, offsetInExtent, compressed, hits, references: ranges.map(strip), bookend: hits.length === 0 };
}
