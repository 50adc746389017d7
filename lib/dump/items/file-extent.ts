// EXTENT_DATA in dumps. Unlike the read path's decoder this one judges nothing (an unknown
// compression or extent type is shown, not refused): a dump has to show what is there.

import { z } from 'zod';
import { CorruptError } from '../../errors.js';
import { FileExtentType } from '../../ondisk/constants.js';
import { fileExtentItem, INLINE_DATA_START } from '../../ondisk/items/file-extent.js';
import { u16, u32, u64, u8 } from '../common.js';

export const fileExtentBodySchema = z.strictObject({
  kind: z.literal('file_extent'),
  generation: u64,
  ram_bytes: u64,
  compression: u8,
  encryption: u8,
  other_encoding: u16,
  /** 0 inline, 1 regular, 2 prealloc. */
  type: u8,
  /** Inline extents: bytes of (possibly compressed) data stored in the item. */
  inline_size: u32.optional(),
  disk_bytenr: u64.optional(),
  disk_num_bytes: u64.optional(),
  offset: u64.optional(),
  num_bytes: u64.optional(),
});
export type FileExtentBody = z.infer<typeof fileExtentBodySchema>;

export function buildFileExtent(data: Buffer): FileExtentBody {
  if (data.length < INLINE_DATA_START) throw new CorruptError(`file extent item is ${data.length} bytes, less than ${INLINE_DATA_START}`);
  const head: FileExtentBody = {
    kind: 'file_extent',
    generation: data.readBigUInt64LE(0).toString(),
    ram_bytes: data.readBigUInt64LE(8).toString(),
    compression: data[16]!,
    encryption: data[17]!,
    other_encoding: data.readUInt16LE(18),
    type: data[20]!,
  };
  if (head.type === FileExtentType.INLINE) return { ...head, inline_size: data.length - INLINE_DATA_START };
  const e = fileExtentItem.decode(data, 0);
  return {
    ...head,
    disk_bytenr: e.disk_bytenr.toString(), disk_num_bytes: e.disk_num_bytes.toString(), offset: e.offset.toString(), num_bytes: e.num_bytes.toString(),
  };
}

const COMPRESSION = ['none', 'zlib', 'lzo', 'zstd'];
const TYPES = ['inline', 'regular', 'prealloc'];

function compressionText(c: number): string {
  return `${c} (${COMPRESSION[c] ?? `UNKNOWN.${c}`})`;
}

export function printFileExtent(b: FileExtentBody): string[] {
  const out = [`\t\tgeneration ${b.generation} type ${b.type} (${TYPES[b.type] ?? 'unknown'})`];
  if (b.type === FileExtentType.INLINE) {
    out.push(`\t\tinline extent data size ${b.inline_size} ram_bytes ${b.ram_bytes} compression ${compressionText(b.compression)}`);
  } else if (b.type === FileExtentType.PREALLOC) {
    out.push(`\t\tprealloc data disk byte ${b.disk_bytenr} nr ${b.disk_num_bytes}`);
    out.push(`\t\tprealloc data offset ${b.offset} nr ${b.num_bytes}`);
  } else {
    out.push(`\t\textent data disk byte ${b.disk_bytenr} nr ${b.disk_num_bytes}`);
    out.push(`\t\textent data offset ${b.offset} nr ${b.num_bytes} ram ${b.ram_bytes}`);
    out.push(`\t\textent compression ${compressionText(b.compression)}`);
  }
  return out;
}
