// The free space tree (FREE_SPACE_INFO per block group, then FREE_SPACE_EXTENT or FREE_SPACE_BITMAP
// items) and the older free space cache header in the root tree (key type 0, objectid FREE_SPACE).

import { diskKey } from '../key.js';
import { le32, le64, struct } from '../struct.js';

export const freeSpaceInfo = struct('btrfs_free_space_info', { extent_count: le32, flags: le32 });
export type FreeSpaceInfo = ReturnType<typeof freeSpaceInfo.decode>;

/** FREE_SPACE_INFO flags: the block group's free space is kept as bitmaps. */
export const FREE_SPACE_USING_BITMAPS = 1;

export const freeSpaceHeader = struct('btrfs_free_space_header', {
  location: diskKey,
  generation: le64,
  num_entries: le64,
  num_bitmaps: le64,
});
export type FreeSpaceHeader = ReturnType<typeof freeSpaceHeader.decode>;

export function decodeFreeSpaceInfo(data: Buffer): FreeSpaceInfo {
  return freeSpaceInfo.decode(data, 0);
}

export function decodeFreeSpaceHeader(data: Buffer): FreeSpaceHeader {
  return freeSpaceHeader.decode(data, 0);
}
