// ROOT_ITEM, ROOT_REF and ROOT_BACKREF in dumps. A root item shorter than today's layout (written by
// an old kernel) reads as if zero-filled, which is what progs does; its v2 fields are then shown only
// when generation_v2 happens to equal generation.

import { z } from 'zod';
import { decodeRootRef, rootItem } from '../../ondisk/items/root-item.js';
import {
  cString, hex, keyModel, keySchema, keyText, s, textBytes, textBytesSchema, timespecModel, timespecSchema, timespecText, u16, u32, u64, u8, uuid, uuidModel,
} from '../common.js';
import { rootFlags } from '../flags.js';
import { inodeItemBodySchema, inodeModel } from './inode.js';

export const rootItemBodySchema = z.strictObject({
  kind: z.literal('root_item'),
  /** The inode item embedded at the start (progs does not print it). */
  inode: inodeItemBodySchema,
  generation: u64,
  root_dirid: u64,
  bytenr: u64,
  byte_limit: u64,
  bytes_used: u64,
  last_snapshot: u64,
  flags: u64,
  refs: u32,
  drop_progress: keySchema,
  drop_level: u8,
  level: u8,
  generation_v2: u64,
  uuid,
  parent_uuid: uuid,
  received_uuid: uuid,
  ctransid: u64,
  otransid: u64,
  stransid: u64,
  rtransid: u64,
  ctime: timespecSchema,
  otime: timespecSchema,
  stime: timespecSchema,
  rtime: timespecSchema,
  reserved: hex,
});
export type RootItemBody = z.infer<typeof rootItemBodySchema>;

export const rootRefBodySchema = z.strictObject({
  kind: z.literal('root_ref'),
  dirid: u64,
  sequence: u64,
  name_len: u16,
  name: textBytesSchema,
});
export type RootRefBody = z.infer<typeof rootRefBodySchema>;

export function buildRootItem(data: Buffer): RootItemBody {
  const full = Buffer.alloc(rootItem.size);
  data.copy(full, 0, 0, Math.min(data.length, rootItem.size));
  const r = rootItem.decode(full, 0);
  return {
    kind: 'root_item',
    inode: inodeModel(r.inode),
    generation: s(r.generation), root_dirid: s(r.root_dirid), bytenr: s(r.bytenr), byte_limit: s(r.byte_limit), bytes_used: s(r.bytes_used),
    last_snapshot: s(r.last_snapshot), flags: s(r.flags), refs: r.refs, drop_progress: keyModel(r.drop_progress), drop_level: r.drop_level,
    level: r.level, generation_v2: s(r.generation_v2),
    uuid: uuidModel(r.uuid), parent_uuid: uuidModel(r.parent_uuid), received_uuid: uuidModel(r.received_uuid),
    ctransid: s(r.ctransid), otransid: s(r.otransid), stransid: s(r.stransid), rtransid: s(r.rtransid),
    ctime: timespecModel(r.ctime), otime: timespecModel(r.otime), stime: timespecModel(r.stime), rtime: timespecModel(r.rtime),
    reserved: r.reserved.toString('hex'),
  };
}

export function printRootItem(b: RootItemBody): string[] {
  const out = [
    `\t\tgeneration ${b.generation} root_dirid ${b.root_dirid} bytenr ${b.bytenr} byte_limit ${b.byte_limit} bytes_used ${b.bytes_used}`,
    `\t\tlast_snapshot ${b.last_snapshot} flags 0x${BigInt(b.flags).toString(16)}(${rootFlags(BigInt(b.flags))}) refs ${b.refs}`,
    `\t\tdrop_progress ${keyText(b.drop_progress)} drop_level ${b.drop_level}`,
    `\t\tlevel ${b.level} generation_v2 ${b.generation_v2}`,
  ];
  if (b.generation === b.generation_v2) {
    out.push(
      `\t\tuuid ${b.uuid}`,
      `\t\tparent_uuid ${b.parent_uuid}`,
      `\t\treceived_uuid ${b.received_uuid}`,
      `\t\tctransid ${b.ctransid} otransid ${b.otransid} stransid ${b.stransid} rtransid ${b.rtransid}`,
      `\t\tctime ${timespecText(b.ctime)}`,
      `\t\totime ${timespecText(b.otime)}`,
      `\t\tstime ${timespecText(b.stime)}`,
      `\t\trtime ${timespecText(b.rtime)}`,
    );
  }
  return out;
}

export function buildRootRef(data: Buffer): RootRefBody {
  const r = decodeRootRef(data);
  // Root refs are not hidden by --hide-names in progs 6.2.
  return { kind: 'root_ref', dirid: s(r.dirid), sequence: s(r.sequence), name_len: r.name.length, name: textBytes(r.name) };
}

export function printRootRef(b: RootRefBody, backref: boolean): string[] {
  return [`\t\troot ${backref ? 'backref' : 'ref'} key dirid ${b.dirid} sequence ${b.sequence} name ${cString(b.name)}`];
}
