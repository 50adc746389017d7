// Numbers from the on-disk format (btrfs_tree.h), named as Btrfs names them.

export const BTRFS_MAGIC = 0x4d5f53665248425fn; // "_BHRfS_M"
export const SUPERBLOCK_OFFSETS = [0x10000n, 0x4000000n, 0x4000000000n] as const; // 64 KiB, 64 MiB, 256 GiB
export const SUPERBLOCK_SIZE = 4096;
export const CSUM_SIZE = 32;
export const FSID_SIZE = 16;
export const UUID_SIZE = 16;
export const LABEL_SIZE = 256;
export const SYSTEM_CHUNK_ARRAY_SIZE = 2048;
export const MAX_LEVEL = 8;
export const NAME_LEN = 255;
export const MAX_METADATA_BLOCKSIZE = 65536;
export const STRIPE_LEN = 65536n; // BTRFS_STRIPE_LEN; chunks also record their own stripe_len

// Object ids. Negative ones are u64 two's complement, hence bigint.
export const ObjectId = {
  ROOT_TREE: 1n,
  EXTENT_TREE: 2n,
  CHUNK_TREE: 3n,
  DEV_TREE: 4n,
  FS_TREE: 5n,
  ROOT_TREE_DIR: 6n,
  CSUM_TREE: 7n,
  QUOTA_TREE: 8n,
  UUID_TREE: 9n,
  FREE_SPACE_TREE: 10n,
  BLOCK_GROUP_TREE: 11n,
  RAID_STRIPE_TREE: 12n,
  DEV_STATS: 0n,
  BALANCE: 2n ** 64n - 4n,
  ORPHAN: 2n ** 64n - 5n,
  TREE_LOG: 2n ** 64n - 6n,
  TREE_LOG_FIXUP: 2n ** 64n - 7n,
  TREE_RELOC: 2n ** 64n - 8n,
  DATA_RELOC_TREE: 2n ** 64n - 9n,
  EXTENT_CSUM: 2n ** 64n - 10n,
  FREE_SPACE: 2n ** 64n - 11n,
  FREE_INO: 2n ** 64n - 12n,
  CSUM_CHANGE: 2n ** 64n - 13n,
  MULTIPLE: 2n ** 64n - 255n,
  FIRST_FREE: 256n,
  LAST_FREE: 2n ** 64n - 256n,
  FIRST_CHUNK_TREE: 256n,
  DEV_ITEMS: 1n,
  BTREE_INODE: 1n,
  EMPTY_SUBVOL_DIR: 2n,
} as const;

export const KeyType = {
  INODE_ITEM: 1,
  INODE_REF: 12,
  INODE_EXTREF: 13,
  XATTR_ITEM: 24,
  VERITY_DESC_ITEM: 36,
  VERITY_MERKLE_ITEM: 37,
  ORPHAN_ITEM: 48,
  DIR_LOG_ITEM: 60,
  DIR_LOG_INDEX: 72,
  DIR_ITEM: 84,
  DIR_INDEX: 96,
  EXTENT_DATA: 108,
  EXTENT_CSUM: 128,
  ROOT_ITEM: 132,
  ROOT_BACKREF: 144,
  ROOT_REF: 156,
  EXTENT_ITEM: 168,
  METADATA_ITEM: 169,
  EXTENT_OWNER_REF: 172,
  TREE_BLOCK_REF: 176,
  EXTENT_DATA_REF: 178,
  EXTENT_REF_V0: 180,
  SHARED_BLOCK_REF: 182,
  SHARED_DATA_REF: 184,
  BLOCK_GROUP_ITEM: 192,
  FREE_SPACE_INFO: 198,
  FREE_SPACE_EXTENT: 199,
  FREE_SPACE_BITMAP: 200,
  DEV_EXTENT: 204,
  DEV_ITEM: 216,
  CHUNK_ITEM: 228,
  QGROUP_STATUS: 240,
  QGROUP_INFO: 242,
  QGROUP_LIMIT: 244,
  QGROUP_RELATION: 246,
  TEMPORARY_ITEM: 248,
  PERSISTENT_ITEM: 249,
  DEV_REPLACE: 250,
  UUID_KEY_SUBVOL: 251,
  UUID_KEY_RECEIVED_SUBVOL: 252,
  STRING_ITEM: 253,
} as const;

export const KEY_TYPE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(KeyType).map(([name, value]) => [value, name]),
);

export const CsumType = { CRC32C: 0, XXHASH: 1, SHA256: 2, BLAKE2: 3 } as const;

/** Directory entry file types (BTRFS_FT_*). */
export const FileType = {
  UNKNOWN: 0,
  REG_FILE: 1,
  DIR: 2,
  CHRDEV: 3,
  BLKDEV: 4,
  FIFO: 5,
  SOCK: 6,
  SYMLINK: 7,
  XATTR: 8,
} as const;
export const FT_ENCRYPTED = 0x80;

export const FileExtentType = { INLINE: 0, REG: 1, PREALLOC: 2 } as const;
export const Compression = { NONE: 0, ZLIB: 1, LZO: 2, ZSTD: 3 } as const;
export const COMPRESSION_NAMES = ['none', 'zlib', 'lzo', 'zstd'] as const;

export const BlockGroupFlag = {
  DATA: 1n << 0n,
  SYSTEM: 1n << 1n,
  METADATA: 1n << 2n,
  RAID0: 1n << 3n,
  RAID1: 1n << 4n,
  DUP: 1n << 5n,
  RAID10: 1n << 6n,
  RAID5: 1n << 7n,
  RAID6: 1n << 8n,
  RAID1C3: 1n << 9n,
  RAID1C4: 1n << 10n,
} as const;
export const BLOCK_GROUP_TYPE_MASK = BlockGroupFlag.DATA | BlockGroupFlag.SYSTEM | BlockGroupFlag.METADATA;
export const BLOCK_GROUP_PROFILE_MASK =
  BlockGroupFlag.RAID0 | BlockGroupFlag.RAID1 | BlockGroupFlag.DUP | BlockGroupFlag.RAID10 |
  BlockGroupFlag.RAID5 | BlockGroupFlag.RAID6 | BlockGroupFlag.RAID1C3 | BlockGroupFlag.RAID1C4;

export const HeaderFlag = { WRITTEN: 1n << 0n, RELOC: 1n << 1n } as const;
/** Top byte of a tree block header's flags: the backref revision. */
export const BACKREF_REV_SHIFT = 56n;
export const MIXED_BACKREF_REV = 1n;

export const ExtentFlag = { DATA: 1n << 0n, TREE_BLOCK: 1n << 1n, FULL_BACKREF: 1n << 8n } as const;

export const RootFlag = { SUBVOL_RDONLY: 1n << 0n } as const;

export const InodeFlag = {
  NODATASUM: 1n << 0n,
  NODATACOW: 1n << 1n,
  READONLY: 1n << 2n,
  NOCOMPRESS: 1n << 3n,
  PREALLOC: 1n << 4n,
  SYNC: 1n << 5n,
  IMMUTABLE: 1n << 6n,
  APPEND: 1n << 7n,
  NODUMP: 1n << 8n,
  NOATIME: 1n << 9n,
  DIRSYNC: 1n << 10n,
  COMPRESS: 1n << 11n,
  ROOT_ITEM_INIT: 1n << 31n,
} as const;

export const SuperFlag = {
  WRITTEN: 1n << 0n,
  RELOC: 1n << 1n,
  ERROR: 1n << 2n,
  SEEDING: 1n << 32n,
  METADUMP: 1n << 33n,
  METADUMP_V2: 1n << 34n,
  CHANGING_FSID: 1n << 35n,
  CHANGING_FSID_V2: 1n << 36n,
} as const;

export const IncompatFeature = {
  MIXED_BACKREF: 1n << 0n,
  DEFAULT_SUBVOL: 1n << 1n,
  MIXED_GROUPS: 1n << 2n,
  COMPRESS_LZO: 1n << 3n,
  COMPRESS_ZSTD: 1n << 4n,
  BIG_METADATA: 1n << 5n,
  EXTENDED_IREF: 1n << 6n,
  RAID56: 1n << 7n,
  SKINNY_METADATA: 1n << 8n,
  NO_HOLES: 1n << 9n,
  METADATA_UUID: 1n << 10n,
  RAID1C34: 1n << 11n,
  ZONED: 1n << 12n,
  EXTENT_TREE_V2: 1n << 13n,
  RAID_STRIPE_TREE: 1n << 14n,
  SIMPLE_QUOTA: 1n << 16n,
} as const;

export const CompatRoFeature = {
  FREE_SPACE_TREE: 1n << 0n,
  FREE_SPACE_TREE_VALID: 1n << 1n,
  VERITY: 1n << 2n,
  BLOCK_GROUP_TREE: 1n << 3n,
} as const;

/**
 * Incompat features whose on-disk changes we read correctly. Anything else set in incompat_flags
 * changes the format in a way we would misread, so opening refuses it.
 */
export const SUPPORTED_INCOMPAT =
  IncompatFeature.MIXED_BACKREF | IncompatFeature.DEFAULT_SUBVOL | IncompatFeature.MIXED_GROUPS |
  IncompatFeature.COMPRESS_LZO | IncompatFeature.COMPRESS_ZSTD | IncompatFeature.BIG_METADATA |
  IncompatFeature.EXTENDED_IREF | IncompatFeature.RAID56 | IncompatFeature.SKINNY_METADATA |
  IncompatFeature.NO_HOLES | IncompatFeature.METADATA_UUID | IncompatFeature.RAID1C34 |
  IncompatFeature.SIMPLE_QUOTA;

export function flagNames(value: bigint, table: Record<string, bigint>): string[] {
  const names: string[] = [];
  let rest = value;
  for (const [name, bit] of Object.entries(table)) {
    if (value & bit) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names;
}
