// An emulated file's extent map: what its EXTENT_DATA items would be after the emulated writes,
// truncations and reflinks. It starts as a copy of the image's items and changes the way Btrfs
// changes them (copy-on-write: an overwritten range gets a new extent; the rest of the old extent
// stays referenced through items whose offset and num_bytes are trimmed), plus ranges of dirty pages
// whose bytes so far exist only in the page cache.
//
// Segments are immutable and cover [0, end) without gaps, so a clone is an array copy and a reader
// iterating a snapshot of the array is never disturbed by a change.

import { UnsupportedError } from '../errors.js';
import { itemMappings } from '../fs/file-extents.js';
import type { ExtentStore, ReadMapping } from './kernel-read-path.js';
import type { RegularExtent } from '../ondisk/items/file-extent.js';
import type { Tree } from '../tree/tree.js';

export type Segment = ReadMapping;

/** Where a file's changes record that an extent is now referenced by items with different ranges. */
export interface ExtentReferences {
  partial: Set<bigint>;
  /** The file's tree shares leaves with another subvolume (a snapshot of it, or it of another). */
  treeShared: () => boolean;
}

/** Items a materialized file may have (a file this fragmented is not emulated). */
export const MAX_SEGMENTS = 1 << 20;

const end = (s: Segment) => s.fileOffset + s.length;

export class FileMap {
  private segs: Segment[];

  constructor(private readonly refs: ExtentReferences, segs: Segment[] = []) {
    this.segs = segs;
  }

  /** The file's items from its tree; with `maxItems`, null when it has more than that. */
  static async fromImage(tree: Tree, ino: bigint, sectorsize: number, refs: ExtentReferences): Promise<FileMap>;
  static async fromImage(tree: Tree, ino: bigint, sectorsize: number, refs: ExtentReferences, maxItems: number): Promise<FileMap | null>;
  static async fromImage(tree: Tree, ino: bigint, sectorsize: number, refs: ExtentReferences, maxItems?: number): Promise<FileMap | null> {
    const segs: Segment[] = [];
    for await (const m of itemMappings(tree, ino, sectorsize)) {
      if (maxItems !== undefined && segs.length >= maxItems) return null;
      if (segs.length >= MAX_SEGMENTS) throw new UnsupportedError(`emulating changes to a file with more than ${MAX_SEGMENTS} extents (inode ${ino} of tree ${tree.root.id})`);
      segs.push(m);
    }
    return new FileMap(refs, segs);
  }

  clone(refs = this.refs): FileMap {
    return new FileMap(refs, this.segs.slice());
  }

  /** End of the last segment (items past EOF included). */
  get end(): bigint {
    const last = this.segs[this.segs.length - 1];
    return last ? end(last) : 0n;
  }

  get count(): number {
    return this.segs.length;
  }

  /** Mappings covering [from, to) exactly, clipped the way the image's mappings() clips them. */
  *mappings(from: bigint, to: bigint): Generator<Segment> {
    if (from >= to) return;
    const i = this.firstEndingAfter(from);
    let j = i;
    while (j < this.segs.length && this.segs[j]!.fileOffset < to) j++;
    const slice = this.segs.slice(i, j);
    let cursor = from;
    for (const s of slice) {
      const a = s.fileOffset > cursor ? s.fileOffset : cursor;
      const b = end(s) < to ? end(s) : to;
      if (b <= a) continue;
      yield a === s.fileOffset && b === end(s) ? s : { ...s, fileOffset: a, length: b - a };
      cursor = b;
    }
    if (cursor < to) yield { kind: 'hole', fileOffset: cursor, length: to - cursor, explicit: false };
  }

  /** Segments of [from, to) as new items of their own (for reflink: each extent gains a reference), gaps as holes. */
  pieces(from: bigint, to: bigint): Segment[] {
    const out: Segment[] = [];
    let cursor = from;
    const i = this.firstEndingAfter(from);
    for (let j = i; j < this.segs.length && this.segs[j]!.fileOffset < to; j++) {
      const s = this.segs[j]!;
      const a = s.fileOffset > from ? s.fileOffset : from;
      const b = end(s) < to ? end(s) : to;
      const piece = this.cut(s, a, b, true);
      if (piece.kind === 'regular' || piece.kind === 'prealloc') this.refs.partial.add(piece.extent.diskBytenr);
      out.push(piece);
      cursor = b;
    }
    if (cursor < to) out.push({ kind: 'hole', fileOffset: cursor, length: to - cursor, explicit: false });
    return out;
  }

  /** Replace [from, to) by `inserted` (which must cover it exactly); a gap before `from` becomes a hole. */
  replace(from: bigint, to: bigint, inserted: Segment[]): void {
    const fileEnd = this.end;
    if (from > fileEnd) this.segs.push({ kind: 'hole', fileOffset: fileEnd, length: from - fileEnd, explicit: false });
    const i = this.firstEndingAfter(from);
    let j = i;
    while (j < this.segs.length && this.segs[j]!.fileOffset < to) j++;
    const pieces: Segment[] = [];
    const first = this.segs[i];
    const last = this.segs[j - 1];
    // Both ends of one item surviving is a split: two items now reference different parts of its extent.
    const split = i === j - 1 && first!.fileOffset < from && end(first!) > to;
    if (i < j && first!.fileOffset < from) pieces.push(this.cut(first!, first!.fileOffset, from, split));
    pieces.push(...inserted);
    if (i < j && end(last!) > to) pieces.push(this.cut(last!, to, end(last!), split));
    this.segs.splice(i, j - i, ...pieces);
    this.mergeDirty(Math.max(0, i - 1), Math.min(this.segs.length, i + pieces.length + 1));
    if (this.segs.length > MAX_SEGMENTS) throw new UnsupportedError(`emulated file has more than ${MAX_SEGMENTS} extents`);
  }

  /** Drop everything from `at` on (`at` is sector aligned: the kernel keeps the last partial sector). */
  truncate(at: bigint): void {
    const i = this.firstEndingAfter(at);
    if (i >= this.segs.length) return;
    const s = this.segs[i]!;
    const kept = s.fileOffset < at ? [this.cut(s, s.fileOffset, at, false)] : [];
    this.segs.splice(i, this.segs.length - i, ...kept);
  }

  /** Page-aligned runs of dirty pages inside [from, to). */
  dirtyRuns(from = 0n, to = this.end): Array<[bigint, bigint]> {
    const runs: Array<[bigint, bigint]> = [];
    for (let j = this.firstEndingAfter(from); j < this.segs.length && this.segs[j]!.fileOffset < to; j++) {
      const s = this.segs[j]!;
      if (s.kind !== 'dirty') continue;
      runs.push([s.fileOffset > from ? s.fileOffset : from, end(s) < to ? end(s) : to]);
    }
    return runs;
  }

  hasDirty(): boolean {
    return this.segs.some((s) => s.kind === 'dirty');
  }

  /** Index of the first segment ending after `at` (segments.length if none). */
  private firstEndingAfter(at: bigint): number {
    let lo = 0;
    let hi = this.segs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (end(this.segs[mid]!) <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * [a, b) of segment `s` as an item of its own. `another` when the extent gains a reference (a split
   * or a clone); a trimmed item keeps its one reference, unless its leaf is shared with a snapshot
   * (then the snapshot's copy keeps the old range while this one changes).
   */
  private cut(s: Segment, a: bigint, b: bigint, another: boolean): Segment {
    if (a === s.fileOffset && b === end(s)) return s;
    switch (s.kind) {
      case 'hole':
        return { kind: 'hole', fileOffset: a, length: b - a, explicit: s.explicit };
      case 'dirty':
        return { kind: 'dirty', fileOffset: a, length: b - a };
      case 'inline':
        // Inline data is a prefix of page 0; page-granular changes keep it whole or drop it.
        if (a !== s.fileOffset) throw new UnsupportedError('emulating a change inside an inline extent larger than a sector');
        return { ...s, length: b - a };
      default: {
        const e = s.extent;
        const extent: RegularExtent = { ...e, offset: e.offset + (a - s.where.itemOffset), numBytes: b - a };
        if (another || this.refs.treeShared()) this.refs.partial.add(e.diskBytenr);
        const piece: Segment = { kind: s.kind, fileOffset: a, length: b - a, extent, where: { block: s.where.block, slot: s.where.slot, itemOffset: a } };
        if (s.store) piece.store = s.store;
        return piece;
      }
    }
  }

  private mergeDirty(from: number, to: number): void {
    for (let k = Math.min(to, this.segs.length) - 1; k > from; k--) {
      const a = this.segs[k - 1]!;
      const b = this.segs[k]!;
      if (a.kind === 'dirty' && b.kind === 'dirty' && end(a) === b.fileOffset) {
        this.segs.splice(k - 1, 2, { kind: 'dirty', fileOffset: a.fileOffset, length: a.length + b.length });
      }
    }
  }
}

/** A new emulated extent's item (uncompressed, written by the emulator, bytes in `store`). */
export function emulatedExtent(fileOffset: bigint, logical: bigint, length: bigint, store: ExtentStore): Segment {
  return {
    kind: 'regular', fileOffset, length,
    extent: { kind: 'regular', generation: 0n, ramBytes: length, compression: 0, diskBytenr: logical, diskNumBytes: length, offset: 0n, numBytes: length },
    where: { block: 0n, slot: 0, itemOffset: fileOffset },
    store,
  };
}

/** Shift a piece to another file offset (the reflink destination). */
export function shifted(s: Segment, by: bigint): Segment {
  if (s.kind === 'hole' || s.kind === 'dirty') return { ...s, fileOffset: s.fileOffset + by };
  return { ...s, fileOffset: s.fileOffset + by, where: { ...s.where, itemOffset: s.where.itemOffset + by } };
}
