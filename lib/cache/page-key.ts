// What identifies a cached page under each policy. Per-inode is the kernel today: the page belongs to
// (subvolume, inode, page index). Logical is the proposal: a page of a regular extent belongs to its
// logical address, a page of a compressed extent to (extent logical address, page index in its
// decompressed bytes); holes, inline data and dirty pages stay per-inode because they have no logical
// address that another file could share.
//
// The same strings name a page's *identity* (the logical data it holds) whatever the policy, which is
// how duplicates are counted: two resident pages with one identity hold the same data twice.

export type CachePolicy = 'per-inode' | 'logical';

export const CACHE_POLICIES: readonly CachePolicy[] = ['per-inode', 'logical'];

/** One inode of one subvolume (a snapshot's copy of an inode is another inode). */
export function inodeId(subvol: bigint, ino: bigint): string {
  return `${subvol}:${ino}`;
}

export function inodePageKey(subvol: bigint, ino: bigint, page: bigint | number): string {
  return `I${subvol}:${ino}:${page}`;
}

/** Per-inode key from an inodeId() (page '' gives the prefix every page of the inode's keys shares). */
export function inodeIdPageKey(inode: string, page: bigint | number | ''): string {
  return `I${inode}:${page}`;
}

export function logicalPageKey(logical: bigint | number): string {
  return `L${logical}`;
}

/** Page '' gives the prefix every page of the extent's keys shares. */
export function compressedPageKey(extentLogical: bigint, page: bigint | number | ''): string {
  return `C${extentLogical}:${page}`;
}
