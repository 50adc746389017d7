// How btrfs-progs 6.2 spells object ids, key types and keys in its dumps (print-tree.c:
// print_objectid, print_key_type, btrfs_print_key). Everything here returns strings; u64 values arrive
// as bigint so that ids such as -10ULL print exactly.

import { KeyType, ObjectId } from '../ondisk/constants.js';

/** BTRFS_CSUM_ITEM_KEY: obsolete, but progs still names it. */
export const CSUM_ITEM_KEY = 120;

/** Key type names progs 6.2 knows. Types it does not know print as UNKNOWN.<n>. */
const KEY_TYPE_NAMES = new Map<number, string>([
  [KeyType.INODE_ITEM, 'INODE_ITEM'],
  [KeyType.INODE_REF, 'INODE_REF'],
  [KeyType.INODE_EXTREF, 'INODE_EXTREF'],
  [KeyType.DIR_ITEM, 'DIR_ITEM'],
  [KeyType.DIR_INDEX, 'DIR_INDEX'],
  [KeyType.DIR_LOG_ITEM, 'DIR_LOG_ITEM'],
  [KeyType.DIR_LOG_INDEX, 'DIR_LOG_INDEX'],
  [KeyType.XATTR_ITEM, 'XATTR_ITEM'],
  [KeyType.VERITY_DESC_ITEM, 'VERITY_DESC_ITEM'],
  [KeyType.VERITY_MERKLE_ITEM, 'VERITY_MERKLE_ITEM'],
  [KeyType.ORPHAN_ITEM, 'ORPHAN_ITEM'],
  [KeyType.ROOT_ITEM, 'ROOT_ITEM'],
  [KeyType.ROOT_REF, 'ROOT_REF'],
  [KeyType.ROOT_BACKREF, 'ROOT_BACKREF'],
  [KeyType.EXTENT_ITEM, 'EXTENT_ITEM'],
  [KeyType.METADATA_ITEM, 'METADATA_ITEM'],
  [KeyType.TREE_BLOCK_REF, 'TREE_BLOCK_REF'],
  [KeyType.SHARED_BLOCK_REF, 'SHARED_BLOCK_REF'],
  [KeyType.EXTENT_DATA_REF, 'EXTENT_DATA_REF'],
  [KeyType.SHARED_DATA_REF, 'SHARED_DATA_REF'],
  [KeyType.EXTENT_REF_V0, 'EXTENT_REF_V0'],
  [CSUM_ITEM_KEY, 'CSUM_ITEM'],
  [KeyType.EXTENT_CSUM, 'EXTENT_CSUM'],
  [KeyType.EXTENT_DATA, 'EXTENT_DATA'],
  [KeyType.BLOCK_GROUP_ITEM, 'BLOCK_GROUP_ITEM'],
  [KeyType.FREE_SPACE_INFO, 'FREE_SPACE_INFO'],
  [KeyType.FREE_SPACE_EXTENT, 'FREE_SPACE_EXTENT'],
  [KeyType.FREE_SPACE_BITMAP, 'FREE_SPACE_BITMAP'],
  [KeyType.CHUNK_ITEM, 'CHUNK_ITEM'],
  [KeyType.DEV_ITEM, 'DEV_ITEM'],
  [KeyType.DEV_EXTENT, 'DEV_EXTENT'],
  [KeyType.TEMPORARY_ITEM, 'TEMPORARY_ITEM'],
  [KeyType.DEV_REPLACE, 'DEV_REPLACE'],
  [KeyType.STRING_ITEM, 'STRING_ITEM'],
  [KeyType.QGROUP_STATUS, 'QGROUP_STATUS'],
  [KeyType.QGROUP_RELATION, 'QGROUP_RELATION'],
  [KeyType.QGROUP_INFO, 'QGROUP_INFO'],
  [KeyType.QGROUP_LIMIT, 'QGROUP_LIMIT'],
  [KeyType.PERSISTENT_ITEM, 'PERSISTENT_ITEM'],
  [KeyType.UUID_KEY_SUBVOL, 'UUID_KEY_SUBVOL'],
  [KeyType.UUID_KEY_RECEIVED_SUBVOL, 'UUID_KEY_RECEIVED_SUBVOL'],
]);

export function keyTypeName(objectid: bigint, type: number): string {
  if (type === 0 && objectid === ObjectId.FREE_SPACE) return 'UNTYPED';
  return KEY_TYPE_NAMES.get(type) ?? `UNKNOWN.${type}`;
}

/** Well-known tree and object ids, as print_objectid names them when the key type does not decide. */
const OBJECTID_NAMES = new Map<bigint, string>([
  [ObjectId.EXTENT_TREE, 'EXTENT_TREE'],
  [ObjectId.CHUNK_TREE, 'CHUNK_TREE'],
  [ObjectId.DEV_TREE, 'DEV_TREE'],
  [ObjectId.FS_TREE, 'FS_TREE'],
  [ObjectId.ROOT_TREE_DIR, 'ROOT_TREE_DIR'],
  [ObjectId.CSUM_TREE, 'CSUM_TREE'],
  [ObjectId.BALANCE, 'BALANCE'],
  [ObjectId.ORPHAN, 'ORPHAN'],
  [ObjectId.TREE_LOG, 'TREE_LOG'],
  [ObjectId.TREE_LOG_FIXUP, 'LOG_FIXUP'],
  [ObjectId.TREE_RELOC, 'TREE_RELOC'],
  [ObjectId.DATA_RELOC_TREE, 'DATA_RELOC_TREE'],
  [ObjectId.EXTENT_CSUM, 'EXTENT_CSUM'],
  [ObjectId.FREE_SPACE, 'FREE_SPACE'],
  [ObjectId.FREE_INO, 'FREE_INO'],
  [ObjectId.QUOTA_TREE, 'QUOTA_TREE'],
  [ObjectId.UUID_TREE, 'UUID_TREE'],
  [ObjectId.FREE_SPACE_TREE, 'FREE_SPACE_TREE'],
  [ObjectId.MULTIPLE, 'MULTIPLE'],
  [ObjectId.BLOCK_GROUP_TREE, 'BLOCK_GROUP_TREE'],
  [2n ** 64n - 1n, '-1'],
]);

const QGROUP_LEVEL_SHIFT = 48n;

/** "level/subvolid", the way qgroup ids are written (BTRFS_QGROUP_LEVEL_SHIFT is 48). */
export function qgroupId(id: bigint): string {
  return `${id >> QGROUP_LEVEL_SHIFT}/${id & ((1n << QGROUP_LEVEL_SHIFT) - 1n)}`;
}

function hex16(v: bigint): string {
  return `0x${v.toString(16).padStart(16, '0')}`;
}

/** print_objectid: the key type decides for a few types, then the id's own name, else the number. */
export function objectidName(objectid: bigint, type: number): string {
  switch (type) {
    case KeyType.PERSISTENT_ITEM:
      return objectid === ObjectId.DEV_STATS ? 'DEV_STATS' : objectid.toString();
    case KeyType.DEV_EXTENT:
      return objectid.toString();
    case KeyType.QGROUP_RELATION:
      return qgroupId(objectid);
    case KeyType.UUID_KEY_SUBVOL:
    case KeyType.UUID_KEY_RECEIVED_SUBVOL:
      return hex16(objectid);
    default:
      break;
  }
  // ROOT_TREE_OBJECTID and DEV_ITEMS_OBJECTID are both 1: the key type tells them apart.
  if (objectid === ObjectId.ROOT_TREE) return type === KeyType.DEV_ITEM ? 'DEV_ITEMS' : 'ROOT_TREE';
  if (objectid === ObjectId.FIRST_CHUNK_TREE && type === KeyType.CHUNK_ITEM) return 'FIRST_CHUNK_TREE';
  return OBJECTID_NAMES.get(objectid) ?? objectid.toString();
}

/** btrfs_print_key: "key (objectid TYPE offset)". */
export function formatDumpKey(objectid: bigint, type: number, offset: bigint): string {
  let off: string;
  switch (type) {
    case KeyType.QGROUP_RELATION:
    case KeyType.QGROUP_INFO:
    case KeyType.QGROUP_LIMIT:
      off = qgroupId(offset);
      break;
    case KeyType.UUID_KEY_SUBVOL:
    case KeyType.UUID_KEY_RECEIVED_SUBVOL:
      off = hex16(offset);
      break;
    case KeyType.ROOT_ITEM:
      // A reloc tree's ROOT_ITEM offset is the id of the subvolume it relocates, so it gets a name.
      off = objectid === ObjectId.TREE_RELOC ? objectidName(offset, type) : offset.toString();
      break;
    default:
      off = offset === 2n ** 64n - 1n ? '-1' : offset.toString();
  }
  return `key (${objectidName(objectid, type)} ${keyTypeName(objectid, type)} ${off})`;
}
