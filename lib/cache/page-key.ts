// What identifies a cached page under each policy. Per-inode is the kernel today: the page belongs to
// (subvolume, inode, page index). Logical is the proposal: a page of a regular extent belongs to its
// logical address, a page of a compressed extent to (extent logical address, page index in its
// decompressed bytes); holes and inline data stay per-inode because they have no logical address.

export type CachePolicy = 'per-inode' | 'logical';

export function inodePageKey(subvol: bigint, ino: bigint, page: bigint): string {
  return `I${subvol}:${ino}:${page}`;
}

export function logicalPageKey(logical: bigint): string {
  return `L${logical}`;
}

export function compressedPageKey(extentLogical: bigint, page: bigint): string {
  return `C${extentLogical}:${page}`;
}
