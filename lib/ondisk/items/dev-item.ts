// DEV_ITEM: one device of the filesystem. In the chunk tree (one per device) and in each superblock
// (the device that superblock lives on).

import { FSID_SIZE, UUID_SIZE } from '../constants.js';
import { bytes, le32, le64, struct, u8 } from '../struct.js';

export const devItem = struct('btrfs_dev_item', {
  devid: le64,
  total_bytes: le64,
  bytes_used: le64,
  io_align: le32,
  io_width: le32,
  sector_size: le32,
  type: le64,
  generation: le64,
  start_offset: le64,
  dev_group: le32,
  seek_speed: u8,
  bandwidth: u8,
  uuid: bytes(UUID_SIZE),
  fsid: bytes(FSID_SIZE),
});
export type DevItem = ReturnType<typeof devItem.decode>;

