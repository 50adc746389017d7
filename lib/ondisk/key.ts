// The btrfs key: (objectid, type, offset), ordered lexicographically. The order of every tree.

import { KEY_TYPE_NAMES, ObjectId } from './constants.js';
import { le64, struct, u8 } from './struct.js';

export interface Key {
  objectid: bigint;
  type: number;
  offset: bigint;
}

export const diskKey = struct('btrfs_disk_key', { objectid: le64, type: u8, offset: le64 });

export const U64_MAX = 2n ** 64n - 1n;
export const MIN_KEY: Key = { objectid: 0n, type: 0, offset: 0n };
export const MAX_KEY: Key = { objectid: U64_MAX, type: 255, offset: U64_MAX };

export function key(objectid: bigint, type: number, offset: bigint): Key {
  return { objectid, type, offset };
}

export function compareKeys(a: Key, b: Key): number {
  if (a.objectid !== b.objectid) return a.objectid < b.objectid ? -1 : 1;
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  if (a.offset !== b.offset) return a.offset < b.offset ? -1 : 1;
  return 0;
}

const OBJECTID_NAMES = new Map<bigint, string>([
  [ObjectId.BALANCE, 'BALANCE'],
  [ObjectId.ORPHAN, 'ORPHAN'],
  [ObjectId.TREE_LOG, 'TREE_LOG'],
  [ObjectId.TREE_LOG_FIXUP, 'TREE_LOG_FIXUP'],
  [ObjectId.TREE_RELOC, 'TREE_RELOC'],
  [ObjectId.DATA_RELOC_TREE, 'DATA_RELOC_TREE'],
  [ObjectId.EXTENT_CSUM, 'EXTENT_CSUM'],
  [ObjectId.FREE_SPACE, 'FREE_SPACE'],
  [ObjectId.FREE_INO, 'FREE_INO'],
  [ObjectId.MULTIPLE, 'MULTIPLE'],
]);

/** "(257 EXTENT_DATA 0)", the form the kernel's messages use. */
export function formatKey(k: Key): string {
  const id = OBJECTID_NAMES.get(k.objectid) ?? k.objectid.toString();
  const type = KEY_TYPE_NAMES.get(k.type) ?? `UNKNOWN.${k.type}`;
  return `(${id} ${type} ${k.offset})`;
}
