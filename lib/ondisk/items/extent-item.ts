// EXTENT_ITEM / METADATA_ITEM in the extent tree: who references an allocated extent. References are
// inline in the item or follow it as separate keyed items (TREE_BLOCK_REF, EXTENT_DATA_REF, ...).

import { CorruptError } from '../../errors.js';
import { ExtentFlag, KeyType } from '../constants.js';
import { diskKey, type Key } from '../key.js';
import { le32, le64, struct, u8 } from '../struct.js';

export const extentItemHead = struct('btrfs_extent_item', { refs: le64, generation: le64, flags: le64 });
export const treeBlockInfo = struct('btrfs_tree_block_info', { key: diskKey, level: u8 });
export const extentDataRef = struct('btrfs_extent_data_ref', { root: le64, objectid: le64, offset: le64, count: le32 });
export const sharedDataRef = struct('btrfs_shared_data_ref', { count: le32 });

export type ExtentRef =
  | { type: 'tree_block'; root: bigint }
  | { type: 'shared_block'; parent: bigint }
  | { type: 'extent_data'; root: bigint; objectid: bigint; offset: bigint; count: number }
  | { type: 'shared_data'; parent: bigint; count: number }
  | { type: 'extent_owner'; root: bigint };

export interface ExtentItem {
  refs: bigint;
  generation: bigint;
  flags: bigint;
  /** Only for old-style (non-skinny) tree block EXTENT_ITEMs. */
  treeBlock?: { key: Key; level: number };
  inlineRefs: ExtentRef[];
}

/** Only the reference count of an EXTENT_ITEM or METADATA_ITEM (read for every extent a reader meets). */
export function extentItemRefs(data: Buffer): bigint {
  if (data.length < extentItemHead.size) {
    throw new CorruptError(`${extentItemHead.name} (${extentItemHead.size} bytes) runs past the end of a ${data.length}-byte item`);
  }
  return data.readBigUInt64LE(extentItemHead.offsetOf('refs'));
}

/** Decode an EXTENT_ITEM or METADATA_ITEM body including its inline references. */
export function decodeExtentItem(data: Buffer, keyType: number): ExtentItem {
  const head = extentItemHead.decode(data, 0);
  let at = extentItemHead.size;
  let treeBlock: ExtentItem['treeBlock'];
  if (head.flags & ExtentFlag.TREE_BLOCK && keyType === KeyType.EXTENT_ITEM) {
    const info = treeBlockInfo.decode(data, at);
    treeBlock = { key: info.key, level: info.level };
    at += treeBlockInfo.size;
  }
  const inlineRefs: ExtentRef[] = [];
  while (at < data.length) {
    const type = data[at]!;
    at += 1;
    const need = (n: number) => {
      if (at + n > data.length) throw new CorruptError(`inline ref type ${type} at offset ${at - 1} runs past the item`);
    };
    switch (type) {
      case KeyType.TREE_BLOCK_REF: need(8); inlineRefs.push({ type: 'tree_block', root: data.readBigUInt64LE(at) }); at += 8; break;
      case KeyType.SHARED_BLOCK_REF: need(8); inlineRefs.push({ type: 'shared_block', parent: data.readBigUInt64LE(at) }); at += 8; break;
      case KeyType.EXTENT_DATA_REF: {
        const r = extentDataRef.decode(data, at);
        inlineRefs.push({ type: 'extent_data', ...r });
        at += extentDataRef.size;
        break;
      }
      case KeyType.SHARED_DATA_REF: {
        need(12);
        inlineRefs.push({ type: 'shared_data', parent: data.readBigUInt64LE(at), count: data.readUInt32LE(at + 8) });
        at += 12;
        break;
      }
      case KeyType.EXTENT_OWNER_REF: need(8); inlineRefs.push({ type: 'extent_owner', root: data.readBigUInt64LE(at) }); at += 8; break;
      default:
        throw new CorruptError(`unknown inline ref type ${type} at offset ${at - 1}`);
    }
  }
  return { ...head, ...(treeBlock ? { treeBlock } : {}), inlineRefs };
}
