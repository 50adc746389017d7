// EXTENT_DATA: where a range of a file's bytes lives. Inline extents carry the bytes in the item
// itself (after the first 21 bytes); regular and prealloc extents point at a logical range.

import { CorruptError, UnsupportedError } from '../../errors.js';
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

export function decodeFileExtent(data: Buffer): FileExtent {
  if (data.length < INLINE_DATA_START) throw new CorruptError(`file extent item is ${data.length} bytes, less than ${INLINE_DATA_START}`);
  const generation = data.readBigUInt64LE(0);
  const ramBytes = data.readBigUInt64LE(8);
  const compression = data[16]!;
  const encryption = data[17]!;
  const otherEncoding = data.readUInt16LE(18);
  const type = data[20]!;
  if (compression > Compression.ZSTD) throw new CorruptError(`invalid compression, have ${compression} expect [0, 3]`);
  if (encryption !== 0 || otherEncoding !== 0) throw new UnsupportedError(`file extent encryption ${encryption} / encoding ${otherEncoding}`);
  if (type === FileExtentType.INLINE) {
    return { kind: 'inline', generation, ramBytes, compression, data: Buffer.from(data.subarray(INLINE_DATA_START)) };
  }
  if (type !== FileExtentType.REG && type !== FileExtentType.PREALLOC) {
    throw new CorruptError(`invalid file extent type, have ${type} expect [0, 2]`);
  }
  if (data.length !== fileExtentItem.size) {
    throw new CorruptError(`regular file extent item is ${data.length} bytes, expected ${fileExtentItem.size}`);
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
