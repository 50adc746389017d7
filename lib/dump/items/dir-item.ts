// DIR_ITEM, DIR_INDEX and XATTR_ITEM in dumps (one layout; an item may hold several entries whose
// names share a hash), plus the two small directory-related items of log trees and orphans.

import { z } from 'zod';
import { decodeDirItems } from '../../ondisk/items/dir-item.js';
import { decodeDirLogItem } from '../../ondisk/items/dir-log.js';
import { cString, keyModel, keySchema, keyText, textBytes, textBytesSchema, u16, u64, u8 } from '../common.js';
import type { ItemContext } from './context.js';

export const dirItemBodySchema = z.strictObject({
  kind: z.literal('dir_item'),
  entries: z.array(z.strictObject({
    location: keySchema,
    /** BTRFS_FT_* (the 0x80 encryption bit kept). */
    type: u8,
    transid: u64,
    data_len: u16,
    name_len: u16,
    name: textBytesSchema,
    /** The xattr value (empty for directory entries). */
    data: textBytesSchema,
  })),
});
export type DirItemBody = z.infer<typeof dirItemBodySchema>;

export const dirLogBodySchema = z.strictObject({ kind: z.literal('dir_log'), end: u64 });
export type DirLogBody = z.infer<typeof dirLogBodySchema>;

export const orphanBodySchema = z.strictObject({ kind: z.literal('orphan') });
export type OrphanBody = z.infer<typeof orphanBodySchema>;

export function buildDirItem(data: Buffer, ctx: ItemContext): DirItemBody {
  return {
    kind: 'dir_item',
    entries: decodeDirItems(data).map((e) => ({
      location: keyModel(e.location), type: e.type, transid: e.transid.toString(), data_len: e.data.length, name_len: e.name.length,
      name: textBytes(e.name, ctx.hideNames), data: textBytes(e.data, ctx.hideNames),
    })),
  };
}

const DIR_TYPE_NAMES = ['', 'FILE', 'DIR', 'CHRDEV', 'BLKDEV', 'FIFO', 'SOCK', 'SYMLINK', 'XATTR'];

function dirTypeName(type: number): string {
  return DIR_TYPE_NAMES[type] || `DIR_ITEM.${type}`;
}

export function printDirItem(b: DirItemBody): string[] {
  const out: string[] = [];
  for (const e of b.entries) {
    out.push(`\t\tlocation ${keyText(e.location)} type ${dirTypeName(e.type)}`);
    out.push(`\t\ttransid ${e.transid} data_len ${e.data_len} name_len ${e.name_len}`);
    out.push(e.name.text === null ? '\t\tname: HIDDEN' : `\t\tname: ${cString(e.name)}`);
    if (e.data_len) out.push(e.data.text === null ? '\t\tdata HIDDEN' : `\t\tdata ${cString(e.data)}`);
  }
  return out;
}

export function buildDirLog(data: Buffer): DirLogBody {
  return { kind: 'dir_log', end: decodeDirLogItem(data).end.toString() };
}

export function printDirLog(b: DirLogBody): string[] {
  return [`\t\tdir log end ${b.end}`];
}

export function printOrphan(): string[] {
  return ['\t\torphan item'];
}
