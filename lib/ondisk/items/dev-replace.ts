// DEV_REPLACE in the device tree, keyed (0, DEV_REPLACE, 0): the state of a running or finished
// `btrfs replace`.

import { le64, struct } from '../struct.js';

export const devReplaceItem = struct('btrfs_dev_replace_item', {
  src_devid: le64,
  cursor_left: le64,
  cursor_right: le64,
  cont_reading_from_srcdev_mode: le64,
  replace_state: le64,
  time_started: le64,
  time_stopped: le64,
  num_write_errors: le64,
  num_uncorrectable_read_errors: le64,
});
export type DevReplaceItem = ReturnType<typeof devReplaceItem.decode>;

export function decodeDevReplaceItem(data: Buffer): DevReplaceItem {
  return devReplaceItem.decode(data, 0);
}
