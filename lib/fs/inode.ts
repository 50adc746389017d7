// Inodes inside one fs tree: the INODE_ITEM, its names (INODE_REF / INODE_EXTREF), directory
// entries (DIR_INDEX for listing in creation order, DIR_ITEM for lookup by name hash) and xattrs.

import { CorruptError } from '../errors.js';
import { KeyType, NAME_LEN } from '../ondisk/constants.js';
import { decodeDirItems, type DirEntry } from '../ondisk/items/dir-item.js';
import { decodeInodeExtrefs, decodeInodeRefs, type InodeRef } from '../ondisk/items/inode-ref.js';
import { decodeInodeItem, type InodeItem } from '../ondisk/items/inode-item.js';
import { key, U64_MAX } from '../ondisk/key.js';
import { nameHash } from '../ondisk/name-hash.js';
import type { Tree } from '../tree/tree.js';
import { wrapItem } from './filesystem.js';

export async function readInodeItem(tree: Tree, ino: bigint): Promise<InodeItem | undefined> {
  const hit = await tree.get(key(ino, KeyType.INODE_ITEM, 0n));
  return hit ? wrapItem(() => decodeInodeItem(hit.data), tree.root.id, hit) : undefined;
}

/** All names of an inode: INODE_REFs then INODE_EXTREFs. */
export async function inodeRefs(tree: Tree, ino: bigint): Promise<InodeRef[]> {
  const refs: InodeRef[] = [];
  for await (const it of tree.range(key(ino, KeyType.INODE_REF, 0n), key(ino, KeyType.INODE_EXTREF, U64_MAX))) {
    if (it.key.type === KeyType.INODE_REF) refs.push(...wrapItem(() => decodeInodeRefs(it.data, it.key.offset), tree.root.id, it));
    else refs.push(...wrapItem(() => decodeInodeExtrefs(it.data), tree.root.id, it));
  }
  return refs;
}

/** The first name of an inode (for directories, their only one). */
export async function parentOf(tree: Tree, ino: bigint): Promise<InodeRef | undefined> {
  for await (const it of tree.range(key(ino, KeyType.INODE_REF, 0n), key(ino, KeyType.INODE_EXTREF, U64_MAX))) {
    const refs = it.key.type === KeyType.INODE_REF
      ? wrapItem(() => decodeInodeRefs(it.data, it.key.offset), tree.root.id, it)
      : wrapItem(() => decodeInodeExtrefs(it.data), tree.root.id, it);
    if (refs[0]) return refs[0];
  }
  return undefined;
}

export interface IndexedDirEntry extends DirEntry {
  index: bigint;
}

/**
 * Directory entries in DIR_INDEX order, which is the order readdir returns them in, each handed to
 * `each` as it is decoded (what came before a damaged item stays handed over).
 */
export async function eachDirEntry(tree: Tree, dir: bigint, each: (e: IndexedDirEntry) => void): Promise<void> {
  await tree.eachItem(key(dir, KeyType.DIR_INDEX, 0n), key(dir, KeyType.DIR_INDEX, U64_MAX), (it) => {
    const entries = wrapItem(() => decodeDirItems(it.data), tree.root.id, it);
    if (entries.length !== 1) {
      throw new CorruptError(`dir index item holds ${entries.length} entries, expected 1`, { tree: tree.root.id, block: it.block, slot: it.slot });
    }
    const e = entries[0]! as IndexedDirEntry;
    if (e.name.length === 0 || e.name.length > NAME_LEN) {
      throw new CorruptError(`dir index name length ${e.name.length} out of range`, { tree: tree.root.id, block: it.block, slot: it.slot });
    }
    // The decoded entry is ours: the index goes on it rather than on a copy.
    e.index = it.key.offset;
    each(e);
  }, 1024);
}

/** Look up one name in a directory through its DIR_ITEM (keyed by name hash). */
export async function lookupName(tree: Tree, dir: bigint, name: Buffer, type: number = KeyType.DIR_ITEM): Promise<DirEntry | undefined> {
  const hit = await tree.get(key(dir, type, nameHash(name)));
  if (!hit) return undefined;
  return wrapItem(() => decodeDirItems(hit.data), tree.root.id, hit).find((e) => e.name.equals(name));
}

export async function listXattrItems(tree: Tree, ino: bigint): Promise<DirEntry[]> {
  const out: DirEntry[] = [];
  await tree.eachItem(key(ino, KeyType.XATTR_ITEM, 0n), key(ino, KeyType.XATTR_ITEM, U64_MAX), (it) => {
    for (const e of wrapItem(() => decodeDirItems(it.data), tree.root.id, it)) out.push(e);
  });
  return out;
}

export async function getXattrItem(tree: Tree, ino: bigint, name: Buffer): Promise<DirEntry | undefined> {
  return lookupName(tree, ino, name, KeyType.XATTR_ITEM);
}
