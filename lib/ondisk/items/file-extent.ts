// EXTENT_DATA: where a range of a file's bytes lives. Inline extents carry the bytes in the item
// itself (after the first 21 bytes); regular and prealloc extents point at a logical range.

import { CorruptError } from '../../errors.js';
import { MAX_COMPRESSED } from '../../compression/types.js';
import { Compression, FileExtentType } from '../constants.js';
import { le16, le64, struct, u8 } from '../struct.js';

export const fileExtentItem = struct('btrfs_file_extent_item', {
  generation: le64,
  ram_bytes: le64,
  compression: u8,
  encryption: u8,
  other_encoding: le16,
  type: u8,
  disk_bytenr: le64,
  disk_num_bytes: le64,
  offset: le64,
  num_bytes: le64,
});

/** Inline data starts where disk_bytenr would be. */
export const INLINE_DATA_START = fileExtentItem.offsetOf('disk_bytenr'); // 21

interface ExtentCommon {
  generation: bigint;
  /** Uncompressed size of the whole extent on disk (an upper bound for compressed extents). */
  ramBytes: bigint;
  compression: number;
}

export interface InlineExtent extends ExtentCommon {
  kind: 'inline';
  /** The stored bytes: compressed when compression != 0. */
  data: Buffer;
}

export interface RegularExtent extends ExtentCommon {
  kind: 'regular' | 'prealloc';
  /** Logical start of the whole on-disk extent; 0 means an explicit hole. */
  diskBytenr: bigint;
  diskNumBytes: bigint;
  /** Offset into the (decompressed) extent where this file range starts. */
  offset: bigint;
  /** Length of the file range this item covers. */
  numBytes: bigint;
}

export type FileExtent = InlineExtent | RegularExtent;

/** BTRFS_MAX_COMPRESSED: a compressed extent holds at most this, compressed or not. */
const MAX_COMPRESSED_EXTENT = BigInt(MAX_COMPRESSED);
const U64_MAX = 2n ** 64n - 1n;

/** Where an EXTENT_DATA item sits, for the checks that depend on it. */
export interface FileExtentContext {
  /** The key's offset: the file offset the item starts at. */
  keyOffset: bigint;
  sectorsize: number;
}

/**
 * What is wrong with one EXTENT_DATA item, or undefined: the kernel's tree-checker rules for a single
 * item (check_extent_data_item), the one place they are written. The tree-checker runs it on every
 * leaf; the decoder runs it without a context (the rules about the key and alignment then hold
 * trivially), so nothing decodes an item these rules refuse.
 */
export function fileExtentProblem(d: Buffer, ctx: FileExtentContext = { keyOffset: 0n, sectorsize: 1 }): string | undefined {
  const S = BigInt(ctx.sectorsize);
  const k = ctx.keyOffset;
  if (k % S !== 0n) return `unaligned file_offset for file extent, have ${k} should be aligned to ${S}`;
  if (d.length < INLINE_DATA_START) return `invalid item size, have ${d.length} expect at least ${INLINE_DATA_START}`;
  const ramBytes = d.readBigUInt64LE(8);
  const compression = d[16]!;
  const encryption = d[17]!;
  const type = d[20]!;
  if (type > FileExtentType.PREALLOC) return `invalid type for file extent, have ${type} expect range [0, ${FileExtentType.PREALLOC}]`;
  if (compression > Compression.ZSTD) return `invalid compression for file extent, have ${compression} expect range [0, ${Compression.ZSTD}]`;
  if (encryption !== 0) return `invalid encryption for file extent, have ${encryption} expect 0`;
  if (type === FileExtentType.INLINE) {
    if (k !== 0n) return `invalid file_offset for inline file extent, have ${k} expect 0`;
    if (compression === Compression.NONE && BigInt(d.length) !== BigInt(INLINE_DATA_START) + ramBytes) {
      return `invalid ram_bytes for uncompressed inline extent, have ${d.length} expect ${BigInt(INLINE_DATA_START) + ramBytes}`;
    }
    if (compression !== Compression.NONE && ramBytes > MAX_COMPRESSED_EXTENT) return `compressed inline extent ram_bytes ${ramBytes} exceeds ${MAX_COMPRESSED_EXTENT}`;
    return undefined;
  }
  if (d.length !== fileExtentItem.size) return `invalid item size for reg/prealloc file extent, have ${d.length} expect ${fileExtentItem.size}`;
  const e = fileExtentItem.decode(d, 0);
  for (const [name, v] of [['ram_bytes', e.ram_bytes], ['disk_bytenr', e.disk_bytenr], ['disk_num_bytes', e.disk_num_bytes], ['offset', e.offset], ['num_bytes', e.num_bytes]] as const) {
    if (v % S !== 0n) return `invalid ${name} for file extent, have ${v}, should be aligned to ${S}`;
  }
  if (k + e.num_bytes > U64_MAX) return `extent end overflow, have file offset ${k} extent num bytes ${e.num_bytes}`;
  if (e.disk_bytenr === 0n) return undefined;
  if (e.disk_bytenr + e.disk_num_bytes > U64_MAX) return `disk extent end overflow, disk_bytenr ${e.disk_bytenr} disk_num_bytes ${e.disk_num_bytes}`;
  if (compression !== Compression.NONE) {
    if (e.disk_num_bytes > MAX_COMPRESSED_EXTENT || e.ram_bytes > MAX_COMPRESSED_EXTENT) {
      return `compressed extent disk_num_bytes ${e.disk_num_bytes} ram_bytes ${e.ram_bytes} exceed ${MAX_COMPRESSED_EXTENT}`;
    }
    if (e.offset + e.num_bytes > e.ram_bytes) return `offset ${e.offset} + num_bytes ${e.num_bytes} exceeds ram_bytes ${e.ram_bytes}`;
  } else if (e.offset + e.num_bytes > e.disk_num_bytes) {
    return `offset ${e.offset} + num_bytes ${e.num_bytes} exceeds disk_num_bytes ${e.disk_num_bytes}`;
  }
  return undefined;
}

/**
 * Where an item's range ends in the file, as the kernel's tree-checker counts it when it checks that
 * the next item does not start before it (an inline extent ends at its ram_bytes rounded to a sector).
 */
export function fileExtentEnd(keyOffset: bigint, e: FileExtent, sectorsize: number): bigint {
  if (e.kind !== 'inline') return keyOffset + e.numBytes;
  const S = BigInt(sectorsize);
  return ((keyOffset + e.ramBytes + S - 1n) / S) * S;
}

/** Decode an EXTENT_DATA item; a CorruptError for one fileExtentProblem() refuses. */
export function decodeFileExtent(data: Buffer): FileExtent {
  const problem = fileExtentProblem(data);
  if (problem) throw new CorruptError(problem);
  const generation = data.readBigUInt64LE(0);
  const ramBytes = data.readBigUInt64LE(8);
  const compression = data[16]!;
  const type = data[20]!;
  if (type === FileExtentType.INLINE) {
    // A copy, not a view (an emulated file keeps its items, and a view would keep the whole block),
    // made with copy(): Buffer.from(buffer) copies byte by byte, a tenth of a small-file extraction.
    const inline = Buffer.allocUnsafe(data.length - INLINE_DATA_START);
    data.copy(inline, 0, INLINE_DATA_START);
    return { kind: 'inline', generation, ramBytes, compression, data: inline };
  }
  const e = fileExtentItem.decode(data, 0);
  return {
    kind: type === FileExtentType.REG ? 'regular' : 'prealloc',
    generation,
    ramBytes,
    compression,
    diskBytenr: e.disk_bytenr,
    diskNumBytes: e.disk_num_bytes,
    offset: e.offset,
    numBytes: e.num_bytes,
  };
}
