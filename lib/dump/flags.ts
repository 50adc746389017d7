// Flag words spelled the way btrfs-progs 6.2's print-tree.c spells them, quirks included (they are
// part of the output people compare against): a block group with METADATA and SYSTEM but no DATA
// prints "METADATASYSTEM", FULL_BACKREF always brings its own "|".

import { BlockGroupFlag, ExtentFlag, HeaderFlag, InodeFlag, RootFlag } from '../ondisk/constants.js';

/** Profile bits in the order progs' btrfs_bg_flags_to_raid_index tests them. */
const PROFILE_ORDER: Array<[bigint, string]> = [
  [BlockGroupFlag.RAID10, 'RAID10'],
  [BlockGroupFlag.RAID1, 'RAID1'],
  [BlockGroupFlag.RAID1C3, 'RAID1C3'],
  [BlockGroupFlag.RAID1C4, 'RAID1C4'],
  [BlockGroupFlag.DUP, 'DUP'],
  [BlockGroupFlag.RAID0, 'RAID0'],
  [BlockGroupFlag.RAID5, 'RAID5'],
  [BlockGroupFlag.RAID6, 'RAID6'],
];

/** bg_flags_to_str: chunk type and block group flags. */
export function blockGroupFlags(flags: bigint): string {
  let s = '';
  let empty = true;
  if (flags & BlockGroupFlag.DATA) {
    empty = false;
    s = 'DATA';
  }
  if (flags & BlockGroupFlag.METADATA) {
    if (!empty) s += '|';
    s += 'METADATA';
  }
  if (flags & BlockGroupFlag.SYSTEM) {
    if (!empty) s += '|';
    s += 'SYSTEM';
  }
  const profile = PROFILE_ORDER.find(([bit]) => flags & bit)?.[1] ?? 'single';
  return `${s}|${profile}`;
}

/** extent_flags_to_str: EXTENT_ITEM / METADATA_ITEM flags. */
export function extentFlags(flags: bigint): string {
  let s = '';
  let empty = true;
  if (flags & ExtentFlag.DATA) {
    empty = false;
    s = 'DATA';
  }
  if (flags & ExtentFlag.TREE_BLOCK) {
    if (!empty) s += '|';
    s += 'TREE_BLOCK';
  }
  if (flags & ExtentFlag.FULL_BACKREF) s += '|FULL_BACKREF';
  return s;
}

const INODE_FLAG_ORDER: Array<[bigint, string]> = [
  [InodeFlag.NODATASUM, 'NODATASUM'],
  [InodeFlag.NODATACOW, 'NODATACOW'],
  [InodeFlag.READONLY, 'READONLY'],
  [InodeFlag.NOCOMPRESS, 'NOCOMPRESS'],
  [InodeFlag.PREALLOC, 'PREALLOC'],
  [InodeFlag.SYNC, 'SYNC'],
  [InodeFlag.IMMUTABLE, 'IMMUTABLE'],
  [InodeFlag.APPEND, 'APPEND'],
  [InodeFlag.NODUMP, 'NODUMP'],
  [InodeFlag.NOATIME, 'NOATIME'],
  [InodeFlag.DIRSYNC, 'DIRSYNC'],
  [InodeFlag.COMPRESS, 'COMPRESS'],
];

/** inode_flags_to_str: known bits joined by "|", "none" when no known bit is set. */
export function inodeFlags(flags: bigint): string {
  const names = INODE_FLAG_ORDER.filter(([bit]) => flags & bit).map(([, name]) => name);
  return names.length ? names.join('|') : 'none';
}

export function rootFlags(flags: bigint): string {
  return flags & RootFlag.SUBVOL_RDONLY ? 'RDONLY' : 'none';
}

/** header_flags_to_str, over the flags with the backref revision byte masked off. */
export function headerFlags(flags: bigint): string {
  const names: string[] = [];
  if (flags & HeaderFlag.WRITTEN) names.push('WRITTEN');
  if (flags & HeaderFlag.RELOC) names.push('RELOC');
  return names.join('|');
}

export const QgroupStatusFlag = { ON: 1n << 0n, RESCAN: 1n << 1n, INCONSISTENT: 1n << 2n } as const;

/** qgroup_flags_to_str. */
export function qgroupStatusFlags(flags: bigint): string {
  let s = flags & QgroupStatusFlag.ON ? 'ON' : 'OFF';
  if (flags & QgroupStatusFlag.RESCAN) s += '|SCANNING';
  if (flags & QgroupStatusFlag.INCONSISTENT) s += '|INCONSISTENT';
  return s;
}
