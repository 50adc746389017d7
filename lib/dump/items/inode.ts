// INODE_ITEM in dumps: every field of struct btrfs_inode_item, printed as print_inode_item does.

import { z } from 'zod';
import { inodeItem, type InodeItem } from '../../ondisk/items/inode-item.js';
import { hex, s, timespecModel, timespecSchema, timespecText, u32, u64 } from '../common.js';
import { inodeFlags } from '../flags.js';

export const inodeItemBodySchema = z.strictObject({
  kind: z.literal('inode_item'),
  generation: u64,
  transid: u64,
  size: u64,
  nbytes: u64,
  block_group: u64,
  nlink: u32,
  uid: u32,
  gid: u32,
  mode: u32,
  rdev: u64,
  flags: u64,
  sequence: u64,
  /** The 32 reserved bytes, kept so a dump shows everything the item holds. */
  reserved: hex,
  atime: timespecSchema,
  ctime: timespecSchema,
  mtime: timespecSchema,
  otime: timespecSchema,
});
export type InodeItemBody = z.infer<typeof inodeItemBodySchema>;

export function inodeModel(i: InodeItem): InodeItemBody {
  return {
    kind: 'inode_item',
    generation: s(i.generation), transid: s(i.transid), size: s(i.size), nbytes: s(i.nbytes), block_group: s(i.block_group),
    nlink: i.nlink, uid: i.uid, gid: i.gid, mode: i.mode, rdev: s(i.rdev), flags: s(i.flags), sequence: s(i.sequence),
    reserved: i.reserved.toString('hex'),
    atime: timespecModel(i.atime), ctime: timespecModel(i.ctime), mtime: timespecModel(i.mtime), otime: timespecModel(i.otime),
  };
}

export function buildInodeItem(data: Buffer): InodeItemBody {
  return inodeModel(inodeItem.decode(data, 0));
}

export function printInodeItem(b: InodeItemBody): string[] {
  return [
    `\t\tgeneration ${b.generation} transid ${b.transid} size ${b.size} nbytes ${b.nbytes}`,
    `\t\tblock group ${b.block_group} mode ${b.mode.toString(8)} links ${b.nlink} uid ${b.uid} gid ${b.gid} rdev ${b.rdev}`,
    `\t\tsequence ${b.sequence} flags 0x${BigInt(b.flags).toString(16)}(${inodeFlags(BigInt(b.flags))})`,
    `\t\tatime ${timespecText(b.atime)}`,
    `\t\tctime ${timespecText(b.ctime)}`,
    `\t\tmtime ${timespecText(b.mtime)}`,
    `\t\totime ${timespecText(b.otime)}`,
  ];
}
