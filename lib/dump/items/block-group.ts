// BLOCK_GROUP_ITEM in dumps.

import { z } from 'zod';
import { decodeBlockGroupItem } from '../../ondisk/items/block-group.js';
import { s, u64 } from '../common.js';
import { blockGroupFlags } from '../flags.js';

export const blockGroupBodySchema = z.strictObject({ kind: z.literal('block_group'), used: u64, chunk_objectid: u64, flags: u64 });
export type BlockGroupBody = z.infer<typeof blockGroupBodySchema>;

export function buildBlockGroup(data: Buffer): BlockGroupBody {
  const b = decodeBlockGroupItem(data);
  return { kind: 'block_group', used: s(b.used), chunk_objectid: s(b.chunk_objectid), flags: s(b.flags) };
}

export function printBlockGroup(b: BlockGroupBody): string[] {
  return [`\t\tblock group used ${b.used} chunk_objectid ${b.chunk_objectid} flags ${blockGroupFlags(BigInt(b.flags))}`];
}
