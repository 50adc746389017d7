// Feature flags in words, as btrfs-progs names them.

import { CompatRoFeature, IncompatFeature } from './constants.js';

export const INCOMPAT_NAMES: ReadonlyArray<[bigint, string]> = [
  [IncompatFeature.MIXED_BACKREF, 'mixed_backref'],
  [IncompatFeature.DEFAULT_SUBVOL, 'default_subvol'],
  [IncompatFeature.MIXED_GROUPS, 'mixed_groups'],
  [IncompatFeature.COMPRESS_LZO, 'compress_lzo'],
  [IncompatFeature.COMPRESS_ZSTD, 'compress_zstd'],
  [IncompatFeature.BIG_METADATA, 'big_metadata'],
  [IncompatFeature.EXTENDED_IREF, 'extended_iref'],
  [IncompatFeature.RAID56, 'raid56'],
  [IncompatFeature.SKINNY_METADATA, 'skinny_metadata'],
  [IncompatFeature.NO_HOLES, 'no_holes'],
  [IncompatFeature.METADATA_UUID, 'metadata_uuid'],
  [IncompatFeature.RAID1C34, 'raid1c34'],
  [IncompatFeature.ZONED, 'zoned'],
  [IncompatFeature.EXTENT_TREE_V2, 'extent_tree_v2'],
  [IncompatFeature.RAID_STRIPE_TREE, 'raid_stripe_tree'],
  [IncompatFeature.SIMPLE_QUOTA, 'simple_quota'],
];

export const COMPAT_RO_NAMES: ReadonlyArray<[bigint, string]> = [
  [CompatRoFeature.FREE_SPACE_TREE, 'free_space_tree'],
  [CompatRoFeature.FREE_SPACE_TREE_VALID, 'free_space_tree_valid'],
  [CompatRoFeature.VERITY, 'verity'],
  [CompatRoFeature.BLOCK_GROUP_TREE, 'block_group_tree'],
];
