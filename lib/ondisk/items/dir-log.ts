// DIR_LOG_ITEM / DIR_LOG_INDEX in log trees: the end of a range of directory index keys the log covers
// (the start is the key offset).

import { le64, struct } from '../struct.js';

export const dirLogItem = struct('btrfs_dir_log_item', { end: le64 });
export type DirLogItem = ReturnType<typeof dirLogItem.decode>;

export function decodeDirLogItem(data: Buffer): DirLogItem {
  return dirLogItem.decode(data, 0);
}
