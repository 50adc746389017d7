// INODE_REF and INODE_EXTREF in dumps: every name an item holds (hard links share one item).

import { z } from 'zod';
import { decodeInodeExtrefs, decodeInodeRefs } from '../../ondisk/items/inode-ref.js';
import { cString, textBytes, textBytesSchema, u16, u64, type TextBytes } from '../common.js';
import type { ItemContext } from './context.js';

export const inodeRefBodySchema = z.strictObject({
  kind: z.literal('inode_ref'),
  refs: z.array(z.strictObject({ index: u64, name_len: u16, name: textBytesSchema })),
});
export type InodeRefBody = z.infer<typeof inodeRefBodySchema>;

export const inodeExtrefBodySchema = z.strictObject({
  kind: z.literal('inode_extref'),
  refs: z.array(z.strictObject({ index: u64, parent: u64, name_len: u16, name: textBytesSchema })),
});
export type InodeExtrefBody = z.infer<typeof inodeExtrefBodySchema>;

export function buildInodeRef(data: Buffer, ctx: ItemContext): InodeRefBody {
  // The parent is the key offset, not part of the item; the decoder only needs it to fill its result.
  const refs = decodeInodeRefs(data, 0n).map((r) => ({ index: r.index.toString(), name_len: r.name.length, name: textBytes(r.name, ctx.hideNames) }));
  return { kind: 'inode_ref', refs };
}

export function buildInodeExtref(data: Buffer, ctx: ItemContext): InodeExtrefBody {
  const refs = decodeInodeExtrefs(data).map((r) => ({
    index: r.index.toString(), parent: r.parent.toString(), name_len: r.name.length, name: textBytes(r.name, ctx.hideNames),
  }));
  return { kind: 'inode_extref', refs };
}

function nameText(name: TextBytes): string {
  return name.text === null ? 'name: HIDDEN' : `name: ${cString(name)}`;
}

export function printInodeRef(b: InodeRefBody): string[] {
  return b.refs.map((r) => `\t\tindex ${r.index} namelen ${r.name_len} ${nameText(r.name)}`);
}

export function printInodeExtref(b: InodeExtrefBody): string[] {
  return b.refs.map((r) => `\t\tindex ${r.index} parent ${r.parent} namelen ${r.name_len} ${nameText(r.name)}`);
}
