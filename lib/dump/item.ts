// One leaf item in a dump: which model its type gets, and how that model prints. The dispatch follows
// btrfs_print_leaf in progs 6.2: item types it has no case for print only their key line.

import { z } from 'zod';
import { BtrfsError } from '../errors.js';
import { KeyType, ObjectId } from '../ondisk/constants.js';
import type { Key } from '../ondisk/key.js';
import { blockGroupBodySchema, buildBlockGroup, printBlockGroup } from './items/block-group.js';
import { buildChunk, chunkBodySchema, printChunk } from './items/chunk.js';
import type { ItemContext } from './items/context.js';
import { buildExtentCsum, csumItemBodySchema, extentCsumBodySchema, printExtentCsum } from './items/csum.js';
import {
  buildDevExtent, buildDevItem, buildDevReplace, buildPersistent, devExtentBodySchema, devItemBodySchema, devReplaceBodySchema,
  persistentBodySchema, printDevExtent, printDevItem, printPersistent,
} from './items/device.js';
import { buildDirItem, buildDirLog, dirItemBodySchema, dirLogBodySchema, orphanBodySchema, printDirItem, printDirLog, printOrphan } from './items/dir-item.js';
import {
  buildExtentDataRef, buildExtentItem, buildSharedDataRef, extentDataRefBodySchema, extentItemBodySchema, extentItemV0BodySchema,
  keyedRefBodySchema, printExtentDataRef, printExtentItem, printKeyedRef, printSharedDataRef, sharedDataRefBodySchema,
} from './items/extent.js';
import { buildFileExtent, fileExtentBodySchema, printFileExtent } from './items/file-extent.js';
import {
  buildFreeSpaceBitmap, buildFreeSpaceHeader, buildFreeSpaceInfo, freeSpaceBitmapBodySchema, freeSpaceExtentBodySchema,
  freeSpaceHeaderBodySchema, freeSpaceInfoBodySchema, printFreeSpaceHeader, printFreeSpaceInfo,
} from './items/free-space.js';
import { buildInodeItem, inodeItemBodySchema, printInodeItem } from './items/inode.js';
import { buildInodeExtref, buildInodeRef, inodeExtrefBodySchema, inodeRefBodySchema, printInodeExtref, printInodeRef } from './items/inode-ref.js';
import {
  buildStringItem, buildTemporary, buildUuidItem, printStringItem, printTemporary, printUuidItem, stringItemBodySchema, temporaryBodySchema,
  uuidItemBodySchema,
} from './items/misc.js';
import {
  buildQgroupInfo, buildQgroupLimit, buildQgroupStatus, printQgroupInfo, printQgroupLimit, printQgroupStatus, qgroupInfoBodySchema,
  qgroupLimitBodySchema, qgroupRelationBodySchema, qgroupStatusBodySchema,
} from './items/qgroup.js';
import { buildRootItem, buildRootRef, printRootItem, printRootRef, rootItemBodySchema, rootRefBodySchema } from './items/root.js';
import type { DumpKey } from './common.js';
import { CSUM_ITEM_KEY } from './names.js';

/** An item type the dump does not decode (progs prints only its key line). */
const noBodySchema = z.strictObject({ kind: z.literal('none') });
/** The item's bytes do not hold what its type promises; `error` says what is wrong. */
const invalidBodySchema = z.strictObject({ kind: z.literal('invalid'), error: z.string() });

export const itemBodySchema = z.discriminatedUnion('kind', [
  inodeItemBodySchema, inodeRefBodySchema, inodeExtrefBodySchema, dirItemBodySchema, dirLogBodySchema, orphanBodySchema,
  rootItemBodySchema, rootRefBodySchema, extentItemBodySchema, extentItemV0BodySchema, extentDataRefBodySchema, sharedDataRefBodySchema,
  keyedRefBodySchema, csumItemBodySchema, extentCsumBodySchema, fileExtentBodySchema, blockGroupBodySchema, freeSpaceInfoBodySchema,
  freeSpaceExtentBodySchema, freeSpaceBitmapBodySchema, freeSpaceHeaderBodySchema, chunkBodySchema, devItemBodySchema,
  devExtentBodySchema, persistentBodySchema, devReplaceBodySchema, qgroupStatusBodySchema, qgroupInfoBodySchema, qgroupLimitBodySchema,
  qgroupRelationBodySchema, uuidItemBodySchema, stringItemBodySchema, temporaryBodySchema, noBodySchema, invalidBodySchema,
]);
export type ItemBody = z.infer<typeof itemBodySchema>;

function decode(key: Key, data: Buffer, ctx: ItemContext): ItemBody {
  if (key.type === 0 && key.objectid === ObjectId.FREE_SPACE) return buildFreeSpaceHeader(data);
  switch (key.type) {
    case KeyType.INODE_ITEM: return buildInodeItem(data);
    case KeyType.INODE_REF: return buildInodeRef(data, ctx);
    case KeyType.INODE_EXTREF: return buildInodeExtref(data, ctx);
    case KeyType.DIR_ITEM:
    case KeyType.DIR_INDEX:
    case KeyType.XATTR_ITEM: return buildDirItem(data, ctx);
    case KeyType.DIR_LOG_INDEX:
    case KeyType.DIR_LOG_ITEM: return buildDirLog(data);
    case KeyType.ORPHAN_ITEM: return { kind: 'orphan' };
    case KeyType.ROOT_ITEM: return buildRootItem(data);
    case KeyType.ROOT_REF:
    case KeyType.ROOT_BACKREF: return buildRootRef(data);
    case KeyType.EXTENT_ITEM:
    case KeyType.METADATA_ITEM: return buildExtentItem(key, data);
    case KeyType.TREE_BLOCK_REF:
    case KeyType.SHARED_BLOCK_REF:
    case KeyType.EXTENT_REF_V0: return { kind: 'keyed_ref' };
    case KeyType.EXTENT_DATA_REF: return buildExtentDataRef(data);
    case KeyType.SHARED_DATA_REF: return buildSharedDataRef(data);
    case CSUM_ITEM_KEY: return { kind: 'csum_item' };
    case KeyType.EXTENT_CSUM: return buildExtentCsum(key.offset, data, ctx);
    case KeyType.EXTENT_DATA: return buildFileExtent(data);
    case KeyType.BLOCK_GROUP_ITEM: return buildBlockGroup(data);
    case KeyType.FREE_SPACE_INFO: return buildFreeSpaceInfo(data);
    case KeyType.FREE_SPACE_EXTENT: return { kind: 'free_space_extent' };
    case KeyType.FREE_SPACE_BITMAP: return buildFreeSpaceBitmap(data);
    case KeyType.CHUNK_ITEM: return buildChunk(data);
    case KeyType.DEV_ITEM: return buildDevItem(data);
    case KeyType.DEV_EXTENT: return buildDevExtent(data);
    case KeyType.QGROUP_STATUS: return buildQgroupStatus(data);
    case KeyType.QGROUP_RELATION: return { kind: 'qgroup_relation' };
    case KeyType.QGROUP_INFO: return buildQgroupInfo(data);
    case KeyType.QGROUP_LIMIT: return buildQgroupLimit(data);
    case KeyType.UUID_KEY_SUBVOL:
    case KeyType.UUID_KEY_RECEIVED_SUBVOL: return buildUuidItem(data);
    case KeyType.STRING_ITEM: return buildStringItem(data);
    case KeyType.PERSISTENT_ITEM: return buildPersistent(key, data);
    case KeyType.TEMPORARY_ITEM: return buildTemporary(key, data);
    case KeyType.DEV_REPLACE: return buildDevReplace(data);
    default: return { kind: 'none' };
  }
}

/** The model of one item; bytes that cannot hold their type give an `invalid` body, never a throw. */
export function buildItemBody(key: Key, data: Buffer, ctx: ItemContext): ItemBody {
  try {
    return decode(key, data, ctx);
  } catch (e) {
    if (e instanceof BtrfsError) return { kind: 'invalid', error: e.message };
    throw e;
  }
}

export interface PrintContext {
  sectorsize: number;
}

/** The lines progs prints under an item's key line. */
export function printItemBody(body: ItemBody, dumpKey: DumpKey, ctx: PrintContext): string[] {
  const key: Key = { objectid: BigInt(dumpKey.objectid), type: dumpKey.type, offset: BigInt(dumpKey.offset) };
  switch (body.kind) {
    case 'inode_item': return printInodeItem(body);
    case 'inode_ref': return printInodeRef(body);
    case 'inode_extref': return printInodeExtref(body);
    case 'dir_item': return printDirItem(body);
    case 'dir_log': return printDirLog(body);
    case 'orphan': return printOrphan();
    case 'root_item': return printRootItem(body);
    case 'root_ref': return printRootRef(body, key.type === KeyType.ROOT_BACKREF);
    case 'extent_item': return printExtentItem(body);
    case 'extent_item_v0': return [];
    case 'extent_data_ref': return printExtentDataRef(body);
    case 'shared_data_ref': return printSharedDataRef(body);
    case 'keyed_ref': return printKeyedRef(key.type);
    case 'csum_item': return ['\t\tcsum item'];
    case 'extent_csum': return printExtentCsum(body, ctx.sectorsize);
    case 'file_extent': return printFileExtent(body);
    case 'block_group': return printBlockGroup(body);
    case 'free_space_info': return printFreeSpaceInfo(body);
    case 'free_space_extent': return ['\t\tfree space extent'];
    case 'free_space_bitmap': return ['\t\tfree space bitmap'];
    case 'free_space_header': return printFreeSpaceHeader(body);
    case 'chunk': return printChunk(body);
    case 'dev_item': return printDevItem(body);
    case 'dev_extent': return printDevExtent(body);
    case 'persistent': return printPersistent(body, key);
    case 'dev_replace': return [];
    case 'qgroup_status': return printQgroupStatus(body);
    case 'qgroup_info': return printQgroupInfo(body);
    case 'qgroup_limit': return printQgroupLimit(body);
    case 'qgroup_relation': return [];
    case 'uuid_item': return printUuidItem(body);
    case 'string_item': return printStringItem(body);
    case 'temporary': return printTemporary(body, key);
    case 'none': return [];
    case 'invalid': return [];
  }
}
