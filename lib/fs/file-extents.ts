// A file's extent map: EXTENT_DATA items in file order, with the holes between them (implicit holes
// under no-holes, explicit ones with disk_bytenr 0) made explicit, clipped to the range asked for.

import { CorruptError } from '../errors.js';
import { KeyType } from '../ondisk/constants.js';
import { decodeFileExtent, type InlineExtent, type RegularExtent } from '../ondisk/items/file-extent.js';
import { formatKey, key, U64_MAX } from '../ondisk/key.js';
import type { Tree } from '../tree/tree.js';
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

/** EXTENT_DATA items of inode `ino` whose range ends after `from`, in file order, validated. */
export async function* fileExtentItems(tree: Tree, ino: bigint, sectorsize: number, from = 0n): AsyncGenerator<RawFileExtent> {
  const S = BigInt(sectorsize);
  let lastEnd = -1n;
  // The floor item holds `from` when it is one of this inode's extents; anything else before is skipped.
  for await (const it of tree.rangeWithFloor(key(ino, KeyType.EXTENT_DATA, from), key(ino, KeyType.EXTENT_DATA, U64_MAX))) {
    if (it.key.objectid !== ino || it.key.type !== KeyType.EXTENT_DATA) continue;
    const where: Where = { block: it.block, slot: it.slot, itemOffset: it.key.offset };
    const fail = (what: string) => new CorruptError(`corrupt leaf: ${what}`, { tree: tree.root.id, block: it.block, slot: it.slot, key: formatKey(it.key) });
    const extent = wrapItem(() => decodeFileExtent(it.data), tree.root.id, it);
    let length: bigint;
    if (extent.kind === 'inline') {
      if (it.key.offset !== 0n) throw fail(`inline extent at file offset ${it.key.offset}, expect 0`);
      if (extent.compression === 0 && extent.ramBytes !== BigInt(extent.data.length)) {
        throw fail(`invalid ram_bytes for uncompressed inline extent, have ${extent.ramBytes} expect ${extent.data.length}`);
      }
      if (extent.ramBytes > S * 16n) throw fail(`inline extent ram_bytes ${extent.ramBytes} is larger than any inline extent can be`);
      length = extent.ramBytes;
    } else {
      if (it.key.offset % S !== 0n) throw fail(`unaligned file_offset ${it.key.offset}`);
      for (const [name, v] of [['num_bytes', extent.numBytes], ['offset', extent.offset], ['disk_bytenr', extent.diskBytenr], ['disk_num_bytes', extent.diskNumBytes]] as const) {
        if (v % S !== 0n) throw fail(`unaligned ${name} ${v}`);
      }
      if (extent.numBytes === 0n) throw fail('num_bytes is 0');
      if (extent.diskBytenr !== 0n && extent.offset + extent.numBytes > extent.ramBytes) {
        throw fail(`offset ${extent.offset} + num_bytes ${extent.numBytes} exceeds ram_bytes ${extent.ramBytes}`);
      }
      if (extent.compression === 0 && extent.diskBytenr !== 0n && extent.ramBytes !== extent.diskNumBytes) {
        throw fail(`uncompressed extent ram_bytes ${extent.ramBytes} differs from disk_num_bytes ${extent.diskNumBytes}`);
      }
      length = extent.numBytes;
    }
    if (it.key.offset + length > U64_MAX) throw fail('extent end overflows');
    if (it.key.offset < lastEnd) throw fail(`file extent overlaps the previous one ending at ${lastEnd}`);
    lastEnd = it.key.offset + length;
    if (lastEnd <= from) continue;
    yield { fileOffset: it.key.offset, length, extent, where };
  }
}

/** Cover [from, to) exactly: every byte belongs to one mapping, holes included. */
export async function* mappings(tree: Tree, ino: bigint, sectorsize: number, from: bigint, to: bigint): AsyncGenerator<Mapping> {
  let cursor = from;
  if (cursor >= to) return;
  for await (const raw of fileExtentItems(tree, ino, sectorsize, from)) {
    const start = raw.fileOffset;
    const end = start + raw.length;
    if (start >= to) break;
    if (start > cursor) {
      yield { kind: 'hole', fileOffset: cursor, length: start - cursor, explicit: false };
      cursor = start;
    }
    const clipEnd = end < to ? end : to;
    if (clipEnd <= cursor) continue;
    const e = raw.extent;
    if (e.kind === 'inline') {
      yield { kind: 'inline', fileOffset: cursor, length: clipEnd - cursor, extent: e, where: raw.where };
    } else if (e.diskBytenr === 0n) {
      yield { kind: 'hole', fileOffset: cursor, length: clipEnd - cursor, explicit: true, where: raw.where };
    } else {
      yield { kind: e.kind, fileOffset: cursor, length: clipEnd - cursor, extent: e, where: raw.where };
    }
    cursor = clipEnd;
    if (cursor >= to) return;
  }
  if (cursor < to) yield { kind: 'hole', fileOffset: cursor, length: to - cursor, explicit: false };
}
