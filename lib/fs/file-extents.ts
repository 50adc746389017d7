// A file's extent map: EXTENT_DATA items in file order, with the holes between them (implicit holes
// under no-holes, explicit ones with disk_bytenr 0) made explicit, clipped to the range asked for.

import { CorruptError } from '../errors.js';
import { KeyType } from '../ondisk/constants.js';
import { decodeFileExtent, fileExtentEnd, type InlineExtent, type RegularExtent } from '../ondisk/items/file-extent.js';
import { formatKey, key, U64_MAX } from '../ondisk/key.js';
import type { Tree, TreeItem } from '../tree/tree.js';
import { wrapItem } from './filesystem.js';

interface Where {
  block: bigint;
  slot: number;
  /** File offset in the item's key: where the extent item starts in the file. */
  itemOffset: bigint;
}

export type Mapping =
  | { kind: 'hole'; fileOffset: bigint; length: bigint; explicit: boolean; where?: Where }
  | { kind: 'inline'; fileOffset: bigint; length: bigint; extent: InlineExtent; where: Where }
  | { kind: 'regular' | 'prealloc'; fileOffset: bigint; length: bigint; extent: RegularExtent; where: Where };

export interface RawFileExtent {
  fileOffset: bigint;
  /** Bytes of the file this item covers (ram_bytes for inline extents). */
  length: bigint;
  extent: InlineExtent | RegularExtent;
  where: Where;
}

/**
 * One EXTENT_DATA item, after the item before it ended at `lastEnd`. The tree-checker validated the
 * item itself when its leaf was read (fileExtentProblem); what it cannot see across two leaves is
 * the order, checked here the same way.
 */
function rawExtent(tree: Tree, it: TreeItem, lastEnd: bigint): RawFileExtent {
  const where: Where = { block: it.block, slot: it.slot, itemOffset: it.key.offset };
  const extent = wrapItem(() => decodeFileExtent(it.data), tree.root.id, it);
  if (it.key.offset < lastEnd) {
    const loc = { tree: tree.root.id, block: it.block, slot: it.slot, key: formatKey(it.key) };
    throw new CorruptError(`corrupt leaf: file extent end range (${lastEnd}) goes beyond start offset (${it.key.offset}) of the next file extent`, loc);
  }
  return { fileOffset: it.key.offset, length: extent.kind === 'inline' ? extent.ramBytes : extent.numBytes, extent, where };
}

/**
 * Reads one inode's EXTENT_DATA items in key order: skips other items and extents ending at or
 * before `from`, and validates each extent against the one before it.
 */
class ExtentItemReader {
  private lastEnd = -1n;

  constructor(private readonly tree: Tree, private readonly ino: bigint, private readonly sectorsize: number, private readonly from: bigint) {}

  take(it: TreeItem): RawFileExtent | undefined {
    if (it.key.objectid !== this.ino || it.key.type !== KeyType.EXTENT_DATA) return undefined;
    const raw = rawExtent(this.tree, it, this.lastEnd);
    this.lastEnd = fileExtentEnd(raw.fileOffset, raw.extent, this.sectorsize);
    return raw.fileOffset + raw.length <= this.from ? undefined : raw;
  }
}

/** EXTENT_DATA items of inode `ino` whose range ends after `from`, in file order, validated. */
export async function* fileExtentItems(tree: Tree, ino: bigint, sectorsize: number, from = 0n): AsyncGenerator<RawFileExtent> {
  const reader = new ExtentItemReader(tree, ino, sectorsize, from);
  // The floor item holds `from` when it is one of this inode's extents; anything else before is skipped.
  for await (const it of tree.rangeWithFloor(key(ino, KeyType.EXTENT_DATA, from), key(ino, KeyType.EXTENT_DATA, U64_MAX))) {
    const raw = reader.take(it);
    if (raw) yield raw;
  }
}

/** Builds the mappings covering [from, to) from a file's extent items, given in file order. */
class Coverage {
  readonly out: Mapping[] = [];
  /** No later item can matter. */
  done = false;

  constructor(private cursor: bigint, private readonly to: bigint) {
    this.done = cursor >= to;
  }

  add(raw: RawFileExtent): void {
    const start = raw.fileOffset;
    const end = start + raw.length;
    if (start >= this.to) {
      this.done = true;
      return;
    }
    if (start > this.cursor) {
      this.out.push({ kind: 'hole', fileOffset: this.cursor, length: start - this.cursor, explicit: false });
      this.cursor = start;
    }
    const clipEnd = end < this.to ? end : this.to;
    if (clipEnd <= this.cursor) return;
    const e = raw.extent;
    const fileOffset = this.cursor;
    const length = clipEnd - this.cursor;
    if (e.kind === 'inline') this.out.push({ kind: 'inline', fileOffset, length, extent: e, where: raw.where });
    else if (e.diskBytenr === 0n) this.out.push({ kind: 'hole', fileOffset, length, explicit: true, where: raw.where });
    else this.out.push({ kind: e.kind, fileOffset, length, extent: e, where: raw.where });
    this.cursor = clipEnd;
    if (this.cursor >= this.to) this.done = true;
  }

  /** The hole after the last item that matters, if it ended before `to`. */
  finish(): void {
    if (this.cursor < this.to) this.out.push({ kind: 'hole', fileOffset: this.cursor, length: this.to - this.cursor, explicit: false });
    this.cursor = this.to;
    this.done = true;
  }
}

/** Items a file range is mapped from synchronously at most (more go the asynchronous way). */
const CACHED_ITEMS = 64;

/**
 * Cover [from, to) exactly: every byte belongs to one mapping, holes included. An array when the
 * extent items are in cached tree blocks (nearly always: this runs for every read), else an async
 * iteration that loads them.
 */
export function mappings(tree: Tree, ino: bigint, sectorsize: number, from: bigint, to: bigint): Mapping[] | AsyncGenerator<Mapping> {
  if (from >= to) return [];
  // Items starting at or after `to` cannot matter, so the range ends before them.
  const items = tree.rangeCached(key(ino, KeyType.EXTENT_DATA, from), key(ino, KeyType.EXTENT_DATA, to - 1n), CACHED_ITEMS, true);
  if (!items) return mappingsLoading(tree, ino, sectorsize, from, to);
  const reader = new ExtentItemReader(tree, ino, sectorsize, from);
  const cover = new Coverage(from, to);
  for (const it of items) {
    const raw = reader.take(it);
    if (!raw) continue;
    cover.add(raw);
    if (cover.done) break;
  }
  cover.finish();
  return cover.out;
}

/** mappings() from items loaded as needed (exported for tests: the two ways must agree). */
export async function* mappingsLoading(tree: Tree, ino: bigint, sectorsize: number, from: bigint, to: bigint): AsyncGenerator<Mapping> {
  const cover = new Coverage(from, to);
  for await (const raw of fileExtentItems(tree, ino, sectorsize, from)) {
    cover.add(raw);
    yield* cover.out.splice(0);
    if (cover.done) break;
  }
  cover.finish();
  yield* cover.out.splice(0);
}

/**
 * Every EXTENT_DATA item of a file as mappings, with the holes between them, from offset 0 to the end
 * of its last item (items past the end of the file included; no hole after the last one).
 */
export async function* itemMappings(tree: Tree, ino: bigint, sectorsize: number): AsyncGenerator<Mapping> {
  const cover = new Coverage(0n, U64_MAX + 1n);
  for await (const raw of fileExtentItems(tree, ino, sectorsize)) {
    cover.add(raw);
    yield* cover.out.splice(0);
  }
}
