// The extent tree's items in dumps: EXTENT_ITEM / METADATA_ITEM with their inline back references,
// and the keyed back references (TREE_BLOCK_REF, SHARED_BLOCK_REF, EXTENT_DATA_REF, SHARED_DATA_REF,
// the obsolete EXTENT_REF_V0).

import { z } from 'zod';
import { ExtentFlag, KeyType } from '../../ondisk/constants.js';
import { extentDataRef, extentItemHead, sharedDataRef, treeBlockInfo } from '../../ondisk/items/extent-item.js';
import type { Key } from '../../ondisk/key.js';
import { keyModel, keySchema, keyText, s, u32, u64, u8 } from '../common.js';
import { extentFlags } from '../flags.js';
import { objectidName } from '../names.js';

const inlineRefSchema = z.discriminatedUnion('ref', [
  z.strictObject({ ref: z.literal('tree_block'), root: u64 }),
  z.strictObject({ ref: z.literal('shared_block'), parent: u64 }),
  z.strictObject({ ref: z.literal('extent_data'), root: u64, objectid: u64, offset: u64, count: u32 }),
  z.strictObject({ ref: z.literal('shared_data'), parent: u64, count: u32 }),
  /** A type progs 6.2 does not know (it stops listing there); `type` is the raw byte. */
  z.strictObject({ ref: z.literal('unknown'), type: u8 }),
]);
export type InlineRef = z.infer<typeof inlineRefSchema>;

export const extentItemBodySchema = z.strictObject({
  kind: z.literal('extent_item'),
  refs: u64,
  generation: u64,
  flags: u64,
  /** Non-skinny tree block extents: the first key and level of the block. */
  tree_block: z.strictObject({ key: keySchema, level: u8 }).optional(),
  /** METADATA_ITEM: the level, which skinny items keep in the key offset. */
  skinny_level: z.number().int().optional(),
  inline_refs: z.array(inlineRefSchema),
  /** True when the last inline reference ran past the end of the item (it is not listed). */
  truncated: z.boolean().optional(),
});
export type ExtentItemBody = z.infer<typeof extentItemBodySchema>;

/** An extent item too short for struct btrfs_extent_item (v0 format): progs prints nothing. */
export const extentItemV0BodySchema = z.strictObject({ kind: z.literal('extent_item_v0'), size: u32 });

export const extentDataRefBodySchema = z.strictObject({ kind: z.literal('extent_data_ref'), root: u64, objectid: u64, offset: u64, count: u32 });
export const sharedDataRefBodySchema = z.strictObject({ kind: z.literal('shared_data_ref'), count: u32 });
/** TREE_BLOCK_REF, SHARED_BLOCK_REF and EXTENT_REF_V0: everything is in the key. */
export const keyedRefBodySchema = z.strictObject({ kind: z.literal('keyed_ref') });

export type ExtentItemV0Body = z.infer<typeof extentItemV0BodySchema>;
export type ExtentDataRefBody = z.infer<typeof extentDataRefBodySchema>;
export type SharedDataRefBody = z.infer<typeof sharedDataRefBodySchema>;
export type KeyedRefBody = z.infer<typeof keyedRefBodySchema>;

/** btrfs_extent_inline_ref_size: one type byte, then the offset or the embedded ref. */
function inlineRefSize(type: number): number {
  switch (type) {
    case KeyType.TREE_BLOCK_REF:
    case KeyType.SHARED_BLOCK_REF:
      return 9;
    case KeyType.SHARED_DATA_REF:
      return 9 + sharedDataRef.size;
    case KeyType.EXTENT_DATA_REF:
      return 1 + extentDataRef.size;
    default:
      return 0;
  }
}

export function buildExtentItem(key: Key, data: Buffer): ExtentItemBody | ExtentItemV0Body {
  if (data.length < extentItemHead.size) return { kind: 'extent_item_v0', size: data.length };
  const head = extentItemHead.decode(data, 0);
  const body: ExtentItemBody = { kind: 'extent_item', refs: s(head.refs), generation: s(head.generation), flags: s(head.flags), inline_refs: [] };
  let at = extentItemHead.size;
  if (key.type === KeyType.METADATA_ITEM) {
    body.skinny_level = Number(BigInt.asIntN(32, key.offset));
  } else if (head.flags & ExtentFlag.TREE_BLOCK) {
    const info = treeBlockInfo.decode(data, at);
    body.tree_block = { key: keyModel(info.key), level: info.level };
    at += treeBlockInfo.size;
  }
  while (at < data.length) {
    const type = data[at]!;
    const size = inlineRefSize(type);
    if (size === 0) {
      body.inline_refs.push({ ref: 'unknown', type });
      break;
    }
    if (at + size > data.length) {
      body.truncated = true;
      break;
    }
    const p = at + 1;
    switch (type) {
      case KeyType.TREE_BLOCK_REF: body.inline_refs.push({ ref: 'tree_block', root: s(data.readBigUInt64LE(p)) }); break;
      case KeyType.SHARED_BLOCK_REF: body.inline_refs.push({ ref: 'shared_block', parent: s(data.readBigUInt64LE(p)) }); break;
      case KeyType.EXTENT_DATA_REF: {
        const r = extentDataRef.decode(data, p);
        body.inline_refs.push({ ref: 'extent_data', root: s(r.root), objectid: s(r.objectid), offset: s(r.offset), count: r.count });
        break;
      }
      default:
        body.inline_refs.push({ ref: 'shared_data', parent: s(data.readBigUInt64LE(p)), count: data.readUInt32LE(p + 8) });
    }
    at += size;
  }
  return body;
}

export function printExtentItem(b: ExtentItemBody): string[] {
  const out = [`\t\trefs ${b.refs} gen ${b.generation} flags ${extentFlags(BigInt(b.flags))}`];
  if (b.tree_block) out.push(`\t\ttree block ${keyText(b.tree_block.key)} level ${b.tree_block.level}`);
  if (b.skinny_level !== undefined) out.push(`\t\ttree block skinny level ${b.skinny_level}`);
  for (const r of b.inline_refs) {
    switch (r.ref) {
      case 'tree_block': out.push(`\t\ttree block backref root ${objectidName(BigInt(r.root), 0)}`); break;
      case 'shared_block': out.push(`\t\tshared block backref parent ${r.parent}`); break;
      case 'extent_data':
        out.push(`\t\textent data backref root ${objectidName(BigInt(r.root), 0)} objectid ${r.objectid} offset ${r.offset} count ${r.count}`);
        break;
      case 'shared_data': out.push(`\t\tshared data backref parent ${r.parent} count ${r.count}`); break;
      case 'unknown': return out;
    }
  }
  return out;
}

export function buildExtentDataRef(data: Buffer): ExtentDataRefBody {
  const r = extentDataRef.decode(data, 0);
  return { kind: 'extent_data_ref', root: s(r.root), objectid: s(r.objectid), offset: s(r.offset), count: r.count };
}

export function printExtentDataRef(b: ExtentDataRefBody): string[] {
  return [`\t\textent data backref root ${objectidName(BigInt(b.root), 0)} objectid ${b.objectid} offset ${b.offset} count ${b.count}`];
}

export function buildSharedDataRef(data: Buffer): SharedDataRefBody {
  return { kind: 'shared_data_ref', count: sharedDataRef.decode(data, 0).count };
}

export function printSharedDataRef(b: SharedDataRefBody): string[] {
  return [`\t\tshared data backref count ${b.count}`];
}

export function printKeyedRef(type: number): string[] {
  switch (type) {
    case KeyType.TREE_BLOCK_REF: return ['\t\ttree block backref'];
    case KeyType.SHARED_BLOCK_REF: return ['\t\tshared block backref'];
    default: return ['\t\textent ref v0 (deprecated)'];
  }
}
