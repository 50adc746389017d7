// BLOCK_GROUP_ITEM: how much of a chunk is in use. Keyed (chunk logical start, BLOCK_GROUP_ITEM, length).

import { le64, struct } from '../struct.js';

export const blockGroupItem = struct('btrfs_block_group_item', { used: le64, chunk_objectid: le64, flags: le64 });
export type BlockGroupItem = ReturnType<typeof blockGroupItem.decode>;

export function decodeBlockGroupItem(data: Buffer): BlockGroupItem {
  return blockGroupItem.decode(data, 0);
}
