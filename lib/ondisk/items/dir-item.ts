// DIR_ITEM, DIR_INDEX and XATTR_ITEM share one layout: a header, the name, then data (the xattr
// value; empty for directory entries). A DIR_ITEM or XATTR_ITEM keyed by name hash may hold several
// entries whose names collide.

import { CorruptError } from '../../errors.js';
import { diskKey, type Key } from '../key.js';
import { le16, le64, struct, u8 } from '../struct.js';

export const dirItemHead = struct('btrfs_dir_item', { location: diskKey, transid: le64, data_len: le16, name_len: le16, type: u8 });

export interface DirEntry {
  location: Key;
  transid: bigint;
  /** BTRFS_FT_* with the encryption bit kept (callers mask it). */
  type: number;
  name: Buffer;
  data: Buffer;
}

export function decodeDirItems(data: Buffer): DirEntry[] {
  const entries: DirEntry[] = [];
  let at = 0;
  while (at < data.length) {
    const head = dirItemHead.decode(data, at);
    const nameAt = at + dirItemHead.size;
    const end = nameAt + head.name_len + head.data_len;
    if (end > data.length) {
      throw new CorruptError(`dir item name_len ${head.name_len} + data_len ${head.data_len} runs past the item (${data.length} bytes)`);
    }
    entries.push({
      location: head.location,
      transid: head.transid,
      type: head.type,
      name: Buffer.from(data.subarray(nameAt, nameAt + head.name_len)),
      data: Buffer.from(data.subarray(nameAt + head.name_len, end)),
    });
    at = end;
  }
  return entries;
}
