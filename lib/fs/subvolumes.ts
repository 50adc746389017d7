// Subvolumes and snapshots: ROOT_ITEMs for what a tree is, ROOT_BACKREFs for where it sits (which
// directory of which parent subvolume, under what name), and the default subvolume.

import { CorruptError } from '../errors.js';
import { FileType, KeyType, ObjectId, RootFlag } from '../ondisk/constants.js';
import { decodeDirItems } from '../ondisk/items/dir-item.js';
import { decodeRootItem, decodeRootRef, type RootItem } from '../ondisk/items/root-item.js';
import { key, U64_MAX } from '../ondisk/key.js';
import { nameHash } from '../ondisk/name-hash.js';
import { formatUuid, isZeroUuid } from '../ondisk/uuid.js';
import { wrapItem, type Filesystem } from './filesystem.js';
import { parentOf } from './inode.js';

export interface Subvolume {
  id: bigint;
  /** The subvolume whose directory holds this one (ROOT_BACKREF key offset). */
  parent: bigint;
  /** Directory inode inside the parent that holds it. */
  dirid: bigint;
  name: string;
  /** Path from the top level (subvolume 5), without a leading slash, as `btrfs subvolume list` shows. */
  path: string;
  uuid: string;
  parentUuid: string | null;
  receivedUuid: string | null;
  readonly: boolean;
  generation: bigint;
  /** Transid when created (otransid). */
  otransid: bigint;
  rootItem: RootItem;
}

const MAX_NESTING = 4096;

export async function listSubvolumes(fs: Filesystem): Promise<Subvolume[]> {
  const items = new Map<bigint, RootItem>();
  const backrefs = new Map<bigint, { parent: bigint; dirid: bigint; name: string }>();
  for await (const it of fs.rootTree.range(key(ObjectId.FIRST_FREE, 0, 0n), key(ObjectId.LAST_FREE, 255, U64_MAX))) {
    if (it.key.type === KeyType.ROOT_ITEM) {
      items.set(it.key.objectid, wrapItem(() => decodeRootItem(it.data), ObjectId.ROOT_TREE, it));
    } else if (it.key.type === KeyType.ROOT_BACKREF) {
      const ref = wrapItem(() => decodeRootRef(it.data), ObjectId.ROOT_TREE, it);
      backrefs.set(it.key.objectid, { parent: it.key.offset, dirid: ref.dirid, name: ref.name.toString('utf8') });
    }
  }
  const paths = new Map<bigint, string>([[ObjectId.FS_TREE, '']]);
  const pathOf = async (id: bigint, depth: number): Promise<string> => {
    const known = paths.get(id);
    if (known !== undefined) return known;
    if (depth > MAX_NESTING) throw new CorruptError(`subvolume ${id}: ROOT_BACKREF chain does not reach the top level`);
    const ref = backrefs.get(id);
    if (!ref) throw new CorruptError(`subvolume ${id} has no ROOT_BACKREF`);
    const parentPath = await pathOf(ref.parent, depth + 1);
    const dirPath = await directoryPath(fs, ref.parent, ref.dirid);
    const path = [parentPath, dirPath, ref.name].filter((p) => p !== '').join('/');
    paths.set(id, path);
    return path;
  };
  const out: Subvolume[] = [];
  for (const [id, ref] of [...backrefs].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const item = items.get(id);
    if (!item) continue;
    out.push({
      id, parent: ref.parent, dirid: ref.dirid, name: ref.name, path: await pathOf(id, 0),
      uuid: formatUuid(item.uuid),
      parentUuid: isZeroUuid(item.parent_uuid) ? null : formatUuid(item.parent_uuid),
      receivedUuid: isZeroUuid(item.received_uuid) ? null : formatUuid(item.received_uuid),
      readonly: (item.flags & RootFlag.SUBVOL_RDONLY) !== 0n,
      generation: item.generation,
      otransid: item.otransid,
      rootItem: item,
    });
  }
  return out;
}

/** Path of directory `dirid` inside subvolume `subvol`, relative to that subvolume's root. */
export async function directoryPath(fs: Filesystem, subvol: bigint, dirid: bigint): Promise<string> {
  const tree = await fs.tree(subvol);
  const found = await fs.rootItem(subvol);
  const top = found!.item.root_dirid;
  const names: string[] = [];
  let ino = dirid;
  for (let depth = 0; ino !== top; depth++) {
    if (depth > MAX_NESTING) throw new CorruptError(`directory ${dirid} in subvolume ${subvol}: INODE_REF chain does not reach the root`);
    const ref = await parentOf(tree, ino);
    if (!ref) throw new CorruptError(`directory ${ino} in subvolume ${subvol} has no INODE_REF`);
    names.unshift(ref.name.toString('utf8'));
    ino = ref.parent;
  }
  return names.join('/');
}

/** The subvolume mounted when none is named: the root tree's "default" dir item, else 5. */
export async function defaultSubvolume(fs: Filesystem): Promise<bigint> {
  const name = Buffer.from('default');
  const hit = await fs.rootTree.get(key(ObjectId.ROOT_TREE_DIR, KeyType.DIR_ITEM, nameHash(name)));
  if (!hit) return ObjectId.FS_TREE;
  const entries = wrapItem(() => decodeDirItems(hit.data), ObjectId.ROOT_TREE, hit);
  const e = entries.find((d) => d.name.equals(name));
  if (!e || (e.type & 0x7f) !== FileType.DIR) return ObjectId.FS_TREE;
  return e.location.objectid;
}

/** Is `child` mounted under `dirid` of `parent` with this name? (the ROOT_REF check the kernel does) */
export async function rootRefMatches(fs: Filesystem, parent: bigint, child: bigint, dirid: bigint, name: Buffer): Promise<boolean> {
  const hit = await fs.rootTree.get(key(parent, KeyType.ROOT_REF, child));
  if (!hit) return false;
  const ref = wrapItem(() => decodeRootRef(hit.data), ObjectId.ROOT_TREE, hit);
  return ref.dirid === dirid && ref.name.equals(name);
}

/** Where subvolume `id` is attached: (parent subvolume, directory inode). */
export async function backrefOf(fs: Filesystem, id: bigint): Promise<{ parent: bigint; dirid: bigint; name: Buffer } | undefined> {
  for await (const it of fs.rootTree.range(key(id, KeyType.ROOT_BACKREF, 0n), key(id, KeyType.ROOT_BACKREF, U64_MAX))) {
    const ref = wrapItem(() => decodeRootRef(it.data), ObjectId.ROOT_TREE, it);
    return { parent: it.key.offset, dirid: ref.dirid, name: ref.name };
  }
  return undefined;
}
