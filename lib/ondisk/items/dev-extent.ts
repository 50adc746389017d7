// DEV_EXTENT in the device tree: which physical range of a device belongs to which chunk.

import { UUID_SIZE } from '../constants.js';
import { bytes, le64, struct } from '../struct.js';

export const devExtent = struct('btrfs_dev_extent', {
  chunk_tree: le64,
  chunk_objectid: le64,
  chunk_offset: le64,
  length: le64,
  chunk_tree_uuid: bytes(UUID_SIZE),
});
export type DevExtent = ReturnType<typeof devExtent.decode>;
