// The free space tree's items and the free space cache header in dumps.

import { z } from 'zod';
import { decodeFreeSpaceHeader, decodeFreeSpaceInfo } from '../../ondisk/items/free-space.js';
import { hex, keyModel, keySchema, keyText, s, u32, u64 } from '../common.js';

export const freeSpaceInfoBodySchema = z.strictObject({ kind: z.literal('free_space_info'), extent_count: u32, flags: u32 });
/** A FREE_SPACE_EXTENT: the free range is the key (offset = length); nothing else is stored. */
export const freeSpaceExtentBodySchema = z.strictObject({ kind: z.literal('free_space_extent') });
/** A FREE_SPACE_BITMAP: one bit per sector of the key's range, set where free. */
export const freeSpaceBitmapBodySchema = z.strictObject({ kind: z.literal('free_space_bitmap'), bitmap: hex });
export const freeSpaceHeaderBodySchema = z.strictObject({
  kind: z.literal('free_space_header'),
  location: keySchema,
  generation: u64,
  num_entries: u64,
  num_bitmaps: u64,
});

export type FreeSpaceInfoBody = z.infer<typeof freeSpaceInfoBodySchema>;
export type FreeSpaceBitmapBody = z.infer<typeof freeSpaceBitmapBodySchema>;
export type FreeSpaceHeaderBody = z.infer<typeof freeSpaceHeaderBodySchema>;

export function buildFreeSpaceInfo(data: Buffer): FreeSpaceInfoBody {
  const f = decodeFreeSpaceInfo(data);
  return { kind: 'free_space_info', extent_count: f.extent_count, flags: f.flags };
}

export function printFreeSpaceInfo(b: FreeSpaceInfoBody): string[] {
  return [`\t\tfree space info extent count ${b.extent_count} flags ${b.flags}`];
}

export function buildFreeSpaceBitmap(data: Buffer): FreeSpaceBitmapBody {
  return { kind: 'free_space_bitmap', bitmap: data.toString('hex') };
}

export function buildFreeSpaceHeader(data: Buffer): FreeSpaceHeaderBody {
  const h = decodeFreeSpaceHeader(data);
  return { kind: 'free_space_header', location: keyModel(h.location), generation: s(h.generation), num_entries: s(h.num_entries), num_bitmaps: s(h.num_bitmaps) };
}

export function printFreeSpaceHeader(b: FreeSpaceHeaderBody): string[] {
  return [`\t\tlocation ${keyText(b.location)}`, `\t\tcache generation ${b.generation} entries ${b.num_entries} bitmaps ${b.num_bitmaps}`];
}
