// The rarer items in dumps: uuid tree entries, string items (debugging aids), and the balance item
// (a TEMPORARY_ITEM while a balance is running or paused).

import { z } from 'zod';
import { KeyType, ObjectId } from '../../ondisk/constants.js';
import { decodeBalanceItem, type DiskBalanceArgs } from '../../ondisk/items/balance.js';
import { decodeUuidItem } from '../../ondisk/items/uuid-item.js';
import type { Key } from '../../ondisk/key.js';
import { latin1, s, textBytes, textBytesSchema, u32, u64 } from '../common.js';
import { objectidName } from '../names.js';

export const uuidItemBodySchema = z.strictObject({
  kind: z.literal('uuid_item'),
  /** Subvolume ids; absent when the item size is not a multiple of 8 (progs then only complains). */
  subvol_ids: z.array(u64).optional(),
  size: u32,
});
export type UuidItemBody = z.infer<typeof uuidItemBodySchema>;

export const stringItemBodySchema = z.strictObject({ kind: z.literal('string_item'), data: textBytesSchema });
export type StringItemBody = z.infer<typeof stringItemBodySchema>;

const balanceArgsSchema = z.strictObject({
  profiles: u64,
  usage_min: u32,
  usage_max: u32,
  devid: u64,
  pstart: u64,
  pend: u64,
  vstart: u64,
  vend: u64,
  target: u64,
  flags: u64,
  limit_min: u32,
  limit_max: u32,
  stripes_min: u32,
  stripes_max: u32,
});
type BalanceArgsModel = z.infer<typeof balanceArgsSchema>;

/** TEMPORARY_ITEM: for objectid BALANCE the balance state. */
export const temporaryBodySchema = z.strictObject({
  kind: z.literal('temporary'),
  balance: z.strictObject({ flags: u64, data: balanceArgsSchema, meta: balanceArgsSchema, sys: balanceArgsSchema }).optional(),
});
export type TemporaryBody = z.infer<typeof temporaryBodySchema>;

export function buildUuidItem(data: Buffer): UuidItemBody {
  if (data.length % 8 !== 0) return { kind: 'uuid_item', size: data.length };
  return { kind: 'uuid_item', subvol_ids: decodeUuidItem(data).map(s), size: data.length };
}

export function printUuidItem(b: UuidItemBody): string[] {
  if (!b.subvol_ids) return [`btrfs: uuid item with illegal size ${b.size}!`];
  return b.subvol_ids.map((id) => `\t\tsubvol_id ${id}`);
}

export function buildStringItem(data: Buffer): StringItemBody {
  return { kind: 'string_item', data: textBytes(data) };
}

export function printStringItem(b: StringItemBody): string[] {
  // "%.*s" with the item size as precision: stops at a NUL, never at a length limit below the item's.
  const raw = b.data.hex !== undefined ? Buffer.from(b.data.hex, 'hex') : Buffer.from(b.data.text ?? '', 'utf8');
  const nul = raw.indexOf(0);
  return [`\t\titem data ${latin1(nul >= 0 ? raw.subarray(0, nul) : raw)}`];
}

function argsModel(a: DiskBalanceArgs): BalanceArgsModel {
  return {
    profiles: s(a.profiles), usage_min: a.usage_min, usage_max: a.usage_max, devid: s(a.devid), pstart: s(a.pstart), pend: s(a.pend),
    vstart: s(a.vstart), vend: s(a.vend), target: s(a.target), flags: s(a.flags), limit_min: a.limit_min, limit_max: a.limit_max,
    stripes_min: a.stripes_min, stripes_max: a.stripes_max,
  };
}

export function buildTemporary(key: Key, data: Buffer): TemporaryBody {
  if (key.objectid !== ObjectId.BALANCE) return { kind: 'temporary' };
  const b = decodeBalanceItem(data);
  return { kind: 'temporary', balance: { flags: s(b.flags), data: argsModel(b.data), meta: argsModel(b.meta), sys: argsModel(b.sys) } };
}

function printArgs(a: BalanceArgsModel): string[] {
  return [
    `\t\tprofiles ${a.profiles} devid ${a.devid} target ${a.target} flags ${a.flags}`,
    `\t\tusage_min ${a.usage_min} usage_max ${a.usage_max} pstart ${a.pstart} pend ${a.pend}`,
    `\t\tvstart ${a.vstart} vend ${a.vend} limit_min ${a.limit_min} limit_max ${a.limit_max}`,
    `\t\tstripes_min ${a.stripes_min} stripes_max ${a.stripes_max}`,
  ];
}

export function printTemporary(b: TemporaryBody, key: Key): string[] {
  const out = [`\t\ttemporary item objectid ${objectidName(key.objectid, KeyType.TEMPORARY_ITEM)} offset ${key.offset}`];
  if (!b.balance) {
    out.push(`\t\tunknown temporary item objectid ${key.objectid}`);
    return out;
  }
  out.push(`\t\tbalance status flags ${b.balance.flags}`);
  out.push('\t\tDATA', ...printArgs(b.balance.data));
  out.push('\t\tMETADATA', ...printArgs(b.balance.meta));
  out.push('\t\tSYSTEM', ...printArgs(b.balance.sys));
  return out;
}
