// The balance item: a TEMPORARY_ITEM keyed (BALANCE, TEMPORARY_ITEM, 0) in the root tree while a
// balance is running or paused, with the filters for data, metadata and system chunks.

import { array, le32, le64, struct } from '../struct.js';

/** struct btrfs_disk_balance_args; usage and limit are unions of one u64 or two u32 (min, max). */
export const diskBalanceArgs = struct('btrfs_disk_balance_args', {
  profiles: le64,
  usage_min: le32,
  usage_max: le32,
  devid: le64,
  pstart: le64,
  pend: le64,
  vstart: le64,
  vend: le64,
  target: le64,
  flags: le64,
  limit_min: le32,
  limit_max: le32,
  stripes_min: le32,
  stripes_max: le32,
  unused: array(le64, 6),
});
export type DiskBalanceArgs = ReturnType<typeof diskBalanceArgs.decode>;

export const balanceItem = struct('btrfs_balance_item', {
  flags: le64,
  data: diskBalanceArgs,
  meta: diskBalanceArgs,
  sys: diskBalanceArgs,
  unused: array(le64, 4),
});
export type BalanceItem = ReturnType<typeof balanceItem.decode>;

export function decodeBalanceItem(data: Buffer): BalanceItem {
  return balanceItem.decode(data, 0);
}
