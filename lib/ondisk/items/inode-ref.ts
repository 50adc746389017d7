// INODE_REF and INODE_EXTREF: the names an inode has in its parent directories. One item can hold
// several names (hard links in the same directory, or hash-colliding extrefs).

import { CorruptError } from '../../errors.js';
import { le16, le64, struct } from '../struct.js';

const inodeRefHead = struct('btrfs_inode_ref', { index: le64, name_len: le16 });
const inodeExtrefHead = struct('btrfs_inode_extref', { parent_objectid: le64, index: le64, name_len: le16 });

export interface InodeRef {
  /** Parent directory inode. For INODE_REF it is the key offset; for extrefs it is stored. */
  parent: bigint;
  index: bigint;
  name: Buffer;
}

export function decodeInodeRefs(data: Buffer, parent: bigint): InodeRef[] {
  const refs: InodeRef[] = [];
  let at = 0;
  while (at < data.length) {
    const head = inodeRefHead.decode(data, at);
    const nameAt = at + inodeRefHead.size;
    if (nameAt + head.name_len > data.length) throw new CorruptError(`inode ref name (${head.name_len} bytes) runs past the item`);
    refs.push({ parent, index: head.index, name: Buffer.from(data.subarray(nameAt, nameAt + head.name_len)) });
    at = nameAt + head.name_len;
  }
  return refs;
}

export function decodeInodeExtrefs(data: Buffer): InodeRef[] {
  const refs: InodeRef[] = [];
  let at = 0;
  while (at < data.length) {
    const head = inodeExtrefHead.decode(data, at);
    const nameAt = at + inodeExtrefHead.size;
    if (nameAt + head.name_len > data.length) throw new CorruptError(`inode extref name (${head.name_len} bytes) runs past the item`);
    refs.push({ parent: head.parent_objectid, index: head.index, name: Buffer.from(data.subarray(nameAt, nameAt + head.name_len)) });
    at = nameAt + head.name_len;
  }
  return refs;
}

export const INODE_REF_SIZE = inodeRefHead.size;
export const INODE_EXTREF_SIZE = inodeExtrefHead.size;
