// INODE_ITEM: what stat() returns. Also embedded at the start of every ROOT_ITEM.

import { le32, le64, les64, struct, bytes } from '../struct.js';

export const timespec = struct('btrfs_timespec', { sec: les64, nsec: le32 });
export type Timespec = ReturnType<typeof timespec.decode>;

export const inodeItem = struct('btrfs_inode_item', {
  generation: le64,
  transid: le64,
  size: le64,
  nbytes: le64,
  block_group: le64,
  nlink: le32,
  uid: le32,
  gid: le32,
  mode: le32,
  rdev: le64,
  flags: le64,
  sequence: le64,
  reserved: bytes(32),
  atime: timespec,
  ctime: timespec,
  mtime: timespec,
  otime: timespec,
});
export type InodeItem = ReturnType<typeof inodeItem.decode>;

export function decodeInodeItem(data: Buffer): InodeItem {
  return inodeItem.decode(data, 0);
}

/** Nanoseconds since the epoch; negative before 1970. */
export function timespecToNs(t: Timespec): bigint {
  return t.sec * 1_000_000_000n + BigInt(t.nsec);
}
