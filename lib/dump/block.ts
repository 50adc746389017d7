// One tree block in a dump: its header, its items (leaf) or key pointers (node), and the text progs
// prints for it (print_header_info, btrfs_print_leaf, the node half of btrfs_print_tree). Parsing is
// tolerant like progs: a bad item pointer ends the item list with a problem noted, it does not throw.

import { z } from 'zod';
import { BACKREF_REV_SHIFT } from '../ondisk/constants.js';
import { header as headerStruct, HEADER_SIZE, item as itemStruct, keyPtr as keyPtrStruct } from '../ondisk/node.js';
import { hex, keyModel, keySchema, keyText, s, u32, u64, u8, uuid, uuidModel } from './common.js';
import { headerFlags } from './flags.js';
import { buildItemBody, itemBodySchema, printItemBody } from './item.js';
import type { ItemContext } from './items/context.js';
import { objectidName } from './names.js';

export const blockHeaderSchema = z.strictObject({
  /** --csum-headers only: the stored checksum (csum_size bytes). */
  csum: hex.optional(),
  fsid: uuid,
  bytenr: u64,
  /** All 64 bits, the backref revision in the top byte included. */
  flags: u64,
  chunk_tree_uuid: uuid,
  generation: u64,
  owner: u64,
  nritems: u32,
  level: u8,
});

export const leafItemSchema = z.strictObject({
  slot: u32,
  key: keySchema,
  /** Offset of the item's data from the end of the header (itemoff). */
  offset: u32,
  size: u32,
  body: itemBodySchema,
});
export type LeafItemModel = z.infer<typeof leafItemSchema>;

export const keyPtrSchema = z.strictObject({ key: keySchema, blockptr: u64, generation: u64 });

export const blockSchema = z.strictObject({
  header: blockHeaderSchema,
  /** As progs computes it: unused bytes in a leaf (signed), unused pointer slots in a node. */
  free_space: z.number().int(),
  items: z.array(leafItemSchema).optional(),
  ptrs: z.array(keyPtrSchema).optional(),
  /** What progs reports on stderr while printing this block (bad item pointers, too many pointers). */
  problems: z.array(z.string()).optional(),
});
export type BlockModel = z.infer<typeof blockSchema>;

export interface BlockContext extends ItemContext {
  csumHeaders: boolean;
}

const BACKREF_REV_MASK = 0xffn << BACKREF_REV_SHIFT;

/** The model of a tree block whose checksum and header the caller has already judged. */
export function buildBlock(buf: Buffer, ctx: BlockContext): BlockModel {
  const h = headerStruct.decode(buf, 0);
  const header: BlockModel['header'] = {
    fsid: uuidModel(h.fsid), bytenr: s(h.bytenr), flags: s(h.flags), chunk_tree_uuid: uuidModel(h.chunk_tree_uuid),
    generation: s(h.generation), owner: s(h.owner), nritems: h.nritems, level: h.level,
  };
  if (ctx.csumHeaders) header.csum = h.csum.toString('hex', 0, ctx.csumSize);
  const problems: string[] = [];
  const nr = h.nritems;
  if (h.level > 0) {
    const max = Math.floor((buf.length - HEADER_SIZE) / keyPtrStruct.size);
    if (nr > max) problems.push(`node nr_items corrupted, has ${nr} limit ${max}, continue anyway`);
    const ptrs = [];
    for (let i = 0; i < Math.min(nr, max); i++) {
      const p = keyPtrStruct.decode(buf, HEADER_SIZE + i * keyPtrStruct.size);
      ptrs.push({ key: keyModel(p.key), blockptr: s(p.blockptr), generation: s(p.generation) });
    }
    return { header, free_space: (max - nr) >>> 0, ptrs, ...(problems.length ? { problems } : {}) };
  }
  const dataSize = buf.length - HEADER_SIZE;
  const fit = Math.min(nr, Math.floor(dataSize / itemStruct.size));
  const heads = [];
  for (let i = 0; i < fit; i++) heads.push(itemStruct.decode(buf, HEADER_SIZE + i * itemStruct.size));
  let used = 0;
  if (nr > 0) {
    const first = heads[0];
    const last = heads[fit - 1];
    used = first && last ? first.offset + first.size - last.offset + nr * itemStruct.size : nr * itemStruct.size;
  }
  const items: LeafItemModel[] = [];
  for (let i = 0; i < nr; i++) {
    const it = heads[i];
    if (!it || it.offset > dataSize || it.offset + it.size > dataSize) {
      problems.push(
        it
          ? `leaf ${h.bytenr} slot ${i} pointer invalid, offset ${it.offset} size ${it.size} leaf data limit ${dataSize}`
          : `leaf ${h.bytenr} slot ${i} is past the end of the block`,
        'skip remaining slots',
      );
      break;
    }
    const data = buf.subarray(HEADER_SIZE + it.offset, HEADER_SIZE + it.offset + it.size);
    const body = buildItemBody(it.key, data, ctx);
    items.push({ slot: i, key: keyModel(it.key), offset: it.offset, size: it.size, body });
  }
  return { header, free_space: (dataSize - used) | 0, items, ...(problems.length ? { problems } : {}) };
}

export interface BlockText {
  lines: string[];
  /** Lines progs writes to stderr for this block. */
  problems: string[];
}

export function printBlock(b: BlockModel, sectorsize: number): BlockText {
  const h = b.header;
  const flags = BigInt(h.flags);
  const kind = h.level > 0 ? 'node' : 'leaf';
  const owner = objectidName(BigInt(h.owner), 0);
  const lines = [
    h.level > 0
      ? `node ${h.bytenr} level ${h.level} items ${h.nritems} free space ${b.free_space} generation ${h.generation} owner ${owner}`
      : `leaf ${h.bytenr} items ${h.nritems} free space ${b.free_space} generation ${h.generation} owner ${owner}`,
    `${kind} ${h.bytenr} flags 0x${(flags & ~BACKREF_REV_MASK).toString(16)}(${headerFlags(flags)}) backref revision ${flags >> BACKREF_REV_SHIFT}${h.csum !== undefined ? ` csum 0x${h.csum}` : ''}`,
    `fs uuid ${h.fsid}`,
    `chunk uuid ${h.chunk_tree_uuid}`,
  ];
  const problems = [...(b.problems ?? [])];
  for (const p of b.ptrs ?? []) lines.push(`\t${keyText(p.key)} block ${p.blockptr} gen ${p.generation}`);
  for (const it of b.items ?? []) {
    lines.push(`\titem ${it.slot} ${keyText(it.key)} itemoff ${it.offset} itemsize ${it.size}`);
    if (it.body.kind === 'invalid') problems.push(`leaf ${h.bytenr} slot ${it.slot} ${keyText(it.key)}: ${it.body.error}`);
    lines.push(...printItemBody(it.body, it.key, { sectorsize }));
  }
  return { lines, problems };
}
