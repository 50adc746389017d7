// How much the subvolumes of an image share, and what that is worth to a page cache.
//
// - Pair matrix: for subvolumes A and B, the bytes of logical address space that files of both
//   reference. A file range of an uncompressed (or prealloc) extent references its window
//   [disk_bytenr + offset, + num_bytes); a range of a compressed extent needs the whole compressed
//   extent [disk_bytenr, + disk_num_bytes). The diagonal is what each subvolume references. Computed
//   from the extent tree: every data extent's back references, each file extent item counted for
//   every subvolume whose tree reaches its leaf (snapshots share leaves).
// - Histogram: data extents by how many file ranges reference them (each file extent item once per
//   subvolume that sees it), with their on-disk bytes.
// - Memory to cache every page of every file (each inode once, however many links): under the
//   per-inode policy every page of every file is its own; under the logical policy a page of a
//   regular extent is keyed by its logical address (compressed: by its extent and page index in the
//   decompressed bytes), so files sharing data share the page, while pages of holes, prealloc and
//   inline data stay per inode. Pages are sector-sized, as in the read path.

import { isFsTree } from '../ondisk/check.js';
import { ExtentFlag, KeyType } from '../ondisk/constants.js';
import { decodeExtentItem } from '../ondisk/items/extent-item.js';
import { key, U64_MAX } from '../ondisk/key.js';
import type { Btrfs } from '../fs/btrfs.js';
import { mappings } from '../fs/file-extents.js';
import { walk } from '../fs/walk.js';
import { wrapItem } from '../fs/filesystem.js';
import { BackrefContext } from '../backref/context.js';
import { dataRefItems } from '../backref/data-refs.js';
import { fileRangesOf } from '../backref/logical-resolve.js';

export type Range = [start: bigint, end: bigint];

export interface SharingReport {
  sectorsize: number;
  subvolumes: Array<{ id: bigint; path: string }>;
  /** matrix[i][j]: bytes subvolumes i and j both reference (in `subvolumes` order). */
  matrix: bigint[][];
  dataExtents: number;
  /** By number of referencing file ranges, ascending. */
  histogram: Array<{ references: number; extents: number; bytes: bigint }>;
  memory: {
    files: number;
    perInodePages: bigint;
    logicalPages: bigint;
    perInodeBytes: bigint;
    logicalBytes: bigint;
  };
}

/** Sort and merge into disjoint ranges. */
export function mergeRanges(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Range[] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) {
      if (e > last[1]) last[1] = e;
    } else out.push([s, e]);
  }
  return out;
}

export function rangeBytes(merged: Range[]): bigint {
  let n = 0n;
  for (const [s, e] of merged) n += e - s;
  return n;
}

/** Bytes in both of two merged range lists. */
export function intersectBytes(a: Range[], b: Range[]): bigint {
  let i = 0;
  let j = 0;
  let n = 0n;
  while (i < a.length && j < b.length) {
    const s = a[i]![0] > b[j]![0] ? a[i]![0] : b[j]![0];
    const e = a[i]![1] < b[j]![1] ? a[i]![1] : b[j]![1];
    if (e > s) n += e - s;
    if (a[i]![1] < b[j]![1]) i++;
    else j++;
  }
  return n;
}

async function subvolumeList(btrfs: Btrfs): Promise<Array<{ id: bigint; path: string }>> {
  const list = [{ id: 5n, path: '' }];
  for (const s of await btrfs.subvolumes()) list.push({ id: s.id, path: s.path });
  return list;
}

export interface SharingProgress {
  dataExtents: number;
  files: number;
}

async function pairsAndHistogram(ctx: BackrefContext, ids: bigint[], progress: SharingProgress, onProgress: ((p: SharingProgress) => void) | undefined) {
  const index = new Map(ids.map((id, i) => [id, i]));
  const n = ids.length;
  const matrix = Array.from({ length: n }, () => Array.from({ length: n }, () => 0n));
  const histogram = new Map<number, { extents: number; bytes: bigint }>();
  let dataExtents = 0;
  const tree = ctx.extentTree;
  for await (const it of tree.range(key(0n, KeyType.EXTENT_ITEM, 0n), key(U64_MAX, KeyType.EXTENT_ITEM, U64_MAX))) {
    if (it.key.type !== KeyType.EXTENT_ITEM) continue;
    const item = wrapItem(() => decodeExtentItem(it.data, it.key.type), tree.root.id, it);
    if ((item.flags & ExtentFlag.DATA) === 0n || (item.flags & ExtentFlag.TREE_BLOCK) !== 0n) continue;
    dataExtents++;
    progress.dataExtents = dataExtents;
    onProgress?.(progress);
    const rec = await ctx.record(it.key.objectid);
    if (!rec) continue;
    const ranges = fileRangesOf(await dataRefItems(ctx, rec)).filter((r) => isFsTree(r.subvol));
    const h = histogram.get(ranges.length) ?? { extents: 0, bytes: 0n };
    h.extents++;
    h.bytes += rec.length;
    histogram.set(ranges.length, h);
    const per = new Map<number, Range[]>();
    for (const r of ranges) {
      const i = index.get(r.subvol);
      if (i === undefined) continue;
      const range: Range = r.compression !== 'none' ? [rec.bytenr, rec.bytenr + rec.length] : [rec.bytenr + r.extentOffset, rec.bytenr + r.extentOffset + r.itemLength];
      (per.get(i) ?? per.set(i, []).get(i)!).push(range);
    }
    const merged = [...per].map(([i, rs]) => [i, mergeRanges(rs)] as const);
    for (const [i, a] of merged) {
      for (const [j, b] of merged) {
        if (j < i) continue;
        const bytes = i === j ? rangeBytes(a) : intersectBytes(a, b);
        matrix[i]![j]! += bytes;
        if (i !== j) matrix[j]![i]! += bytes;
      }
    }
  }
  const rows = [...histogram].sort((a, b) => a[0] - b[0]).map(([references, v]) => ({ references, ...v }));
  return { matrix, histogram: rows, dataExtents };
}

async function memory(btrfs: Btrfs, progress: SharingProgress, onProgress: ((p: SharingProgress) => void) | undefined): Promise<SharingReport['memory']> {
  const S = BigInt(btrfs.filesystem.sectorsize);
  const seen = new Set<string>();
  let perInode = 0n;
  let perInodeOnly = 0n;
  const logical: Range[] = [];
  const compressed = new Map<bigint, Range[]>();
  for await (const e of walk(btrfs, '/', { follow: false })) {
    if (e.kind !== 'file') continue;
    const id = `${e.node.subvol}:${e.node.ino}`;
    if (seen.has(id)) continue;
    seen.add(id);
    progress.files = seen.size;
    onProgress?.(progress);
    const pagesEnd = (e.facts.size + S - 1n) / S;
    perInode += pagesEnd;
    if (pagesEnd === 0n) continue;
    const tree = await btrfs.tree(e.node.subvol);
    for await (const m of mappings(tree, e.node.ino, btrfs.filesystem.sectorsize, 0n, pagesEnd * S)) {
      // Pages whose first byte is in this mapping.
      const first = (m.fileOffset + S - 1n) / S;
      const end = (m.fileOffset + m.length + S - 1n) / S;
      if (end <= first) continue;
      if (m.kind !== 'regular') {
        perInodeOnly += end - first;
        continue;
      }
      const x = m.extent;
      const inExtent = x.offset + first * S - m.where.itemOffset;
      if (x.compression !== 0) {
        const idx = inExtent / S;
        (compressed.get(x.diskBytenr) ?? compressed.set(x.diskBytenr, []).get(x.diskBytenr)!).push([idx, idx + (end - first)]);
      } else logical.push([x.diskBytenr + inExtent, x.diskBytenr + inExtent + (end - first) * S]);
    }
  }
  let logicalPages = rangeBytes(mergeRanges(logical)) / S + perInodeOnly;
  for (const rs of compressed.values()) logicalPages += rangeBytes(mergeRanges(rs));
  return { files: seen.size, perInodePages: perInode, logicalPages, perInodeBytes: perInode * S, logicalBytes: logicalPages * S };
}

export async function sharing(btrfs: Btrfs, options: { context?: BackrefContext; onProgress?: (p: Readonly<SharingProgress>) => void } = {}): Promise<SharingReport> {
  const ctx = options.context ?? (await BackrefContext.create(btrfs.filesystem));
  const subvolumes = await subvolumeList(btrfs);
  const progress: SharingProgress = { dataExtents: 0, files: 0 };
  const { matrix, histogram, dataExtents } = await pairsAndHistogram(ctx, subvolumes.map((s) => s.id), progress, options.onProgress);
  return { sectorsize: btrfs.filesystem.sectorsize, subvolumes, matrix, dataExtents, histogram, memory: await memory(btrfs, progress, options.onProgress) };
}
