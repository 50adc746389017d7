// The mutators: each turns (generator, fixture layout) into a Mutation. Blind ones (bit flips, byte
// runs, truncation, swapped blocks) mostly meet the checksums; the forged ones rewrite a field and then
// recompute the tree block's or superblock's checksum, so the damage reaches the tree-checker and the
// code above it. Forged damage is written to every copy, or mirrors would hide it.

import { closeSync, openSync, readSync } from 'node:fs';
import { CSUM_SIZE, SUPERBLOCK_SIZE } from '../../lib/ondisk/constants.js';
import { HEADER_SIZE, header, item, keyPtr } from '../../lib/ondisk/node.js';
import { superBlock } from '../../lib/ondisk/superblock.js';
import { KeyType } from '../../lib/ondisk/constants.js';
import { blockGroupItem } from '../../lib/ondisk/items/block-group.js';
import { chunkHead, stripe } from '../../lib/ondisk/items/chunk.js';
import { devExtent } from '../../lib/ondisk/items/dev-extent.js';
import { devItem } from '../../lib/ondisk/items/dev-item.js';
import { dirItemHead } from '../../lib/ondisk/items/dir-item.js';
import { extentItemHead } from '../../lib/ondisk/items/extent-item.js';
import { fileExtentItem } from '../../lib/ondisk/items/file-extent.js';
import { inodeItem } from '../../lib/ondisk/items/inode-item.js';
import { rootItem } from '../../lib/ondisk/items/root-item.js';
import type { Struct } from '../../lib/ondisk/struct.js';
import type { BlockInfo, Corpus, Place } from './corpus.js';
import { diffPatches, type Mutation, type Patch } from './mutation.js';
import type { Rng } from './rng.js';

const U64_MAX = 2n ** 64n - 1n;

function readAt(c: Corpus, p: Place, length: number): Buffer {
  const fd = openSync(c.images[p.device]!, 'r');
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, p.offset);
    return buf;
  } finally {
    closeSync(fd);
  }
}

function forgeTreeCsum(c: Corpus, block: Buffer): void {
  block.fill(0, 0, CSUM_SIZE);
  Buffer.from(c.checksummer.digest(block.subarray(CSUM_SIZE))).copy(block, 0);
}

function forgeSuperCsum(c: Corpus, sb: Buffer): void {
  sb.fill(0, 0, CSUM_SIZE);
  Buffer.from(c.checksummer.digest(sb.subarray(CSUM_SIZE, SUPERBLOCK_SIZE))).copy(sb, 0);
}

/** Patches writing `after` over every copy of `b`. */
function everyCopy(b: BlockInfo, before: Buffer, after: Buffer): Patch[] {
  return b.places.flatMap((p) => diffPatches(p.device, p.offset, before, after));
}

function interesting(rng: Rng, c: Corpus, original: bigint, b?: BlockInfo): bigint {
  const other = c.blocks.length ? rng.pick(c.blocks).bytenr : 0n;
  const choices: bigint[] = [
    0n, 1n, 2n, 0xffn, 0x100n, 0xffffn, 0x7fffffffn, 0xffffffffn, 0x100000000n, 2n ** 53n, 2n ** 63n, U64_MAX, U64_MAX - 1n,
    rng.u64(), original + 1n, original - 1n, original + BigInt(c.nodesize), original * 2n, original ^ (1n << BigInt(rng.int(64))),
    other, BigInt(c.nodesize), BigInt(c.sectorsize), BigInt(rng.int(1 << 30)) * BigInt(c.sectorsize),
  ];
  if (b) choices.push(b.bytenr, b.parent ?? b.bytenr);
  return BigInt.asUintN(64, rng.pick(choices));
}

type Width = 1 | 2 | 4 | 8;

function writeField(buf: Buffer, at: number, width: Width, v: bigint): void {
  if (at < 0 || at + width > buf.length) return;
  const x = BigInt.asUintN(width * 8, v);
  if (width === 8) buf.writeBigUInt64LE(x, at);
  else if (width === 4) buf.writeUInt32LE(Number(x), at);
  else if (width === 2) buf.writeUInt16LE(Number(x), at);
  else buf[at] = Number(x);
}

function readField(buf: Buffer, at: number, width: Width): bigint {
  if (at < 0 || at + width > buf.length) return 0n;
  if (width === 8) return buf.readBigUInt64LE(at);
  if (width === 4) return BigInt(buf.readUInt32LE(at));
  if (width === 2) return BigInt(buf.readUInt16LE(at));
  return BigInt(buf[at]!);
}

/** A field of a tree block worth corrupting: header fields, keys, pointers, item bounds, item data. */
function pickField(rng: Rng, c: Corpus, b: BlockInfo, buf: Buffer): { at: number; width: Width; what: string } {
  const nr = Math.min(b.nritems, Math.floor((c.nodesize - HEADER_SIZE) / (b.level === 0 ? item.size : keyPtr.size)));
  const r = rng.int(10);
  if (r < 2 || nr === 0) {
    const fields: Array<[string, Width]> = [['bytenr', 8], ['flags', 8], ['generation', 8], ['owner', 8], ['nritems', 4], ['level', 1]];
    const [name, width] = rng.pick(fields);
    return { at: header.offsetOf(name as never), width, what: `header ${name}` };
  }
  const slot = rng.int(nr);
  if (b.level > 0) {
    const base = HEADER_SIZE + slot * keyPtr.size;
    const fields: Array<[string, number, Width]> = [['objectid', 0, 8], ['type', 8, 1], ['offset', 9, 8], ['blockptr', 17, 8], ['generation', 25, 8]];
    const [name, off, width] = rng.pick(fields);
    return { at: base + off, width, what: `ptr ${slot} ${name}` };
  }
  const base = HEADER_SIZE + slot * item.size;
  if (r < 6) {
    const fields: Array<[string, number, Width]> = [['objectid', 0, 8], ['type', 8, 1], ['offset', 9, 8], ['data offset', 17, 4], ['data size', 21, 4]];
    const [name, off, width] = rng.pick(fields);
    return { at: base + off, width, what: `item ${slot} ${name}` };
  }
  const dataAt = HEADER_SIZE + buf.readUInt32LE(base + 17);
  const size = buf.readUInt32LE(base + 21);
  // A field the item's decoder does arithmetic with, where the item type is known...
  const known = (ITEM_FIELDS[buf[base + 8]!] ?? []).filter(([, off, w]) => off + w <= size);
  if (known.length && rng.chance(0.6)) {
    const [name, off, width] = rng.pick(known);
    return { at: dataAt + off, width, what: `item ${slot} ${name}` };
  }
  // ...or any width at any offset, so every decoder meets nonsense in every field.
  const width = rng.pick([1, 2, 4, 8] as const);
  const at = size > width ? dataAt + rng.int(size - width + 1) : dataAt;
  return { at, width, what: `item ${slot} data +${at - dataAt}` };
}

type Field = [string, number, Width];

/** Fields per item type, with their widths, that decoders and the read path compute with. */
const ITEM_FIELDS: Record<number, Field[]> = (() => {
  const f = (st: Struct<object>, spec: Array<[string, Width]>, base = 0): Field[] => spec.map(([n, w]) => [n, base + st.offsetOf(n as never), w]);
  return {
    [KeyType.INODE_ITEM]: f(inodeItem, [['generation', 8], ['size', 8], ['nbytes', 8], ['nlink', 4], ['mode', 4], ['rdev', 8], ['flags', 8]]),
    [KeyType.EXTENT_DATA]: f(fileExtentItem, [['ram_bytes', 8], ['compression', 1], ['encryption', 1], ['type', 1], ['disk_bytenr', 8], ['disk_num_bytes', 8], ['offset', 8], ['num_bytes', 8]]),
    [KeyType.DIR_ITEM]: [...f(dirItemHead, [['data_len', 2], ['name_len', 2], ['type', 1]]), ['location objectid', 0, 8], ['location type', 8, 1], ['location offset', 9, 8]],
    [KeyType.DIR_INDEX]: [...f(dirItemHead, [['data_len', 2], ['name_len', 2], ['type', 1]]), ['location objectid', 0, 8], ['location type', 8, 1], ['location offset', 9, 8]],
    [KeyType.XATTR_ITEM]: f(dirItemHead, [['data_len', 2], ['name_len', 2], ['type', 1]]),
    [KeyType.INODE_REF]: [['index', 0, 8], ['name_len', 8, 2]],
    [KeyType.INODE_EXTREF]: [['parent', 0, 8], ['index', 8, 8], ['name_len', 16, 2]],
    [KeyType.ROOT_ITEM]: f(rootItem, [['generation', 8], ['root_dirid', 8], ['bytenr', 8], ['flags', 8], ['refs', 4], ['level', 1], ['drop_level', 1]]),
    [KeyType.ROOT_REF]: [['dirid', 0, 8], ['name_len', 16, 2]],
    [KeyType.ROOT_BACKREF]: [['dirid', 0, 8], ['name_len', 16, 2]],
    [KeyType.CHUNK_ITEM]: [
      ...f(chunkHead, [['length', 8], ['owner', 8], ['stripe_len', 8], ['type', 8], ['sector_size', 4], ['num_stripes', 2], ['sub_stripes', 2]]),
      ['stripe devid', chunkHead.size, 8], ['stripe offset', chunkHead.size + stripe.offsetOf('offset'), 8],
    ],
    [KeyType.DEV_ITEM]: f(devItem, [['devid', 8], ['total_bytes', 8], ['bytes_used', 8]]),
    [KeyType.DEV_EXTENT]: f(devExtent, [['chunk_tree', 8], ['chunk_offset', 8], ['length', 8]]),
    [KeyType.BLOCK_GROUP_ITEM]: f(blockGroupItem, [['used', 8], ['chunk_objectid', 8], ['flags', 8]]),
    [KeyType.EXTENT_ITEM]: [...f(extentItemHead, [['refs', 8], ['generation', 8], ['flags', 8]]), ['inline ref type', extentItemHead.size, 1], ['inline ref offset', extentItemHead.size + 1, 8]],
    [KeyType.METADATA_ITEM]: [...f(extentItemHead, [['refs', 8], ['flags', 8]]), ['inline ref type', extentItemHead.size, 1], ['inline ref offset', extentItemHead.size + 1, 8]],
  };
})();

export type Mutator = (rng: Rng, c: Corpus) => Mutation | undefined;

function base(c: Corpus, mutator: string, description: string, patches: Patch[]): Mutation {
  return { fixture: c.fixture, mutator, description, patches };
}

const forgedField: Mutator = (rng, c) => {
  if (!c.blocks.length) return undefined;
  const b = rng.pick(c.blocks);
  const before = readAt(c, b.places[0]!, c.nodesize);
  const after = Buffer.from(before);
  const fields: string[] = [];
  for (let n = rng.range(1, 3); n > 0; n--) {
    const f = pickField(rng, c, b, after);
    const v = interesting(rng, c, readField(after, f.at, f.width), b);
    writeField(after, f.at, f.width, v);
    fields.push(`${f.what}=${v}`);
  }
  forgeTreeCsum(c, after);
  return base(c, 'forged-field', `block ${b.bytenr} (tree ${b.tree} level ${b.level}): ${fields.join(', ')}, checksum recomputed`, everyCopy(b, before, after));
};

const forgedBytes: Mutator = (rng, c) => {
  if (!c.blocks.length) return undefined;
  const b = rng.pick(c.blocks);
  const before = readAt(c, b.places[0]!, c.nodesize);
  const after = Buffer.from(before);
  const len = rng.range(1, 64);
  const at = rng.range(HEADER_SIZE, c.nodesize - len);
  rng.bytes(len).copy(after, at);
  forgeTreeCsum(c, after);
  return base(c, 'forged-bytes', `block ${b.bytenr} (tree ${b.tree}): ${len} random bytes at ${at}, checksum recomputed`, everyCopy(b, before, after));
};

/** A child pointer aimed at the block itself or an ancestor: a loop the level rule must stop. */
const forgedLoop: Mutator = (rng, c) => {
  const nodes = c.blocks.filter((b) => b.level > 0);
  if (!nodes.length) return undefined;
  const b = rng.pick(nodes);
  const before = readAt(c, b.places[0]!, c.nodesize);
  const after = Buffer.from(before);
  const slot = rng.int(Math.max(1, b.nritems));
  const target = rng.chance(0.5) ? b.bytenr : (b.parent ?? b.bytenr);
  after.writeBigUInt64LE(target, HEADER_SIZE + slot * keyPtr.size + 17);
  if (rng.chance(0.5)) after[header.offsetOf('level')] = rng.int(8); // and a level that would allow it
  forgeTreeCsum(c, after);
  return base(c, 'forged-loop', `block ${b.bytenr} ptr ${slot} -> ${target}, checksum recomputed`, everyCopy(b, before, after));
};

const swapBlocks: Mutator = (rng, c) => {
  if (c.blocks.length < 2) return undefined;
  const a = rng.pick(c.blocks);
  const b = rng.pick(c.blocks.filter((x) => x !== a));
  const ba = readAt(c, a.places[0]!, c.nodesize);
  const bb = readAt(c, b.places[0]!, c.nodesize);
  const fix = rng.chance(0.6);
  const moved = (content: Buffer, to: BlockInfo) => {
    const out = Buffer.from(content);
    if (fix) {
      // Claim the new address too: only level, first key, generation and owner can now tell.
      out.writeBigUInt64LE(to.bytenr, header.offsetOf('bytenr'));
      forgeTreeCsum(c, out);
    }
    return out;
  };
  return base(c, 'swap-blocks', `blocks ${a.bytenr} and ${b.bytenr} swapped${fix ? ', bytenr and checksum rewritten' : ''}`, [
    ...everyCopy(a, ba, moved(bb, a)),
    ...everyCopy(b, bb, moved(ba, b)),
  ]);
};

const bitflip: Mutator = (rng, c) => {
  const patches: Patch[] = [];
  const n = rng.range(1, 8);
  const where: string[] = [];
  for (let i = 0; i < n; i++) {
    let p: Place;
    let len: number;
    const r = rng.int(10);
    if (r < 6 && c.blocks.length) {
      const b = rng.pick(c.blocks);
      p = rng.pick(b.places);
      len = c.nodesize;
    } else if (r < 8 && c.superblocks.length) {
      p = rng.pick(c.superblocks);
      len = SUPERBLOCK_SIZE;
    } else {
      const device = rng.int(c.images.length);
      p = { device, offset: 0 };
      len = c.sizes[device]!;
    }
    const at = p.offset + rng.int(len);
    const byte = readAt(c, { device: p.device, offset: at }, 1);
    byte[0]! ^= 1 << rng.int(8);
    patches.push({ device: p.device, offset: at, hex: byte.toString('hex') });
    where.push(`${p.device}:${at}`);
  }
  return base(c, 'bitflip', `${n} bit flip(s) at ${where.join(' ')}`, patches);
};

const byteRun: Mutator = (rng, c) => {
  const useData = c.dataSectors.length > 0 && rng.chance(0.3);
  let p: Place;
  let span: number;
  if (useData) {
    const s = rng.pick(c.dataSectors);
    p = rng.pick(s.places);
    span = c.sectorsize;
  } else if (c.blocks.length) {
    p = rng.pick(rng.pick(c.blocks).places);
    span = c.nodesize;
  } else return undefined;
  const len = rng.range(1, Math.min(span, 512));
  const at = p.offset + rng.int(span - len + 1);
  const fill = rng.int(3);
  const bytes = fill === 0 ? Buffer.alloc(len) : fill === 1 ? Buffer.alloc(len, 0xff) : rng.bytes(len);
  return base(c, 'byte-run', `${len} bytes of ${['zeros', '0xff', 'noise'][fill]} at device ${p.device} offset ${at}`, [{ device: p.device, offset: at, hex: bytes.toString('hex') }]);
};

/** Data sectors overwritten on one copy or on all of them (then reads must fail cleanly). */
const dataDamage: Mutator = (rng, c) => {
  if (!c.dataSectors.length) return undefined;
  const s = rng.pick(c.dataSectors);
  const all = rng.chance(0.5);
  const targets = all ? s.places : [rng.pick(s.places)];
  const bytes = rng.bytes(c.sectorsize).toString('hex');
  return base(c, 'data-damage', `data sector ${s.logical} overwritten on ${all ? 'every copy' : `copy at device ${targets[0]!.device}`}`,
    targets.map((p) => ({ device: p.device, offset: p.offset, hex: bytes })));
};

const superField: Mutator = (rng, c) => {
  if (!c.superblocks.length) return undefined;
  const p = rng.chance(0.8) ? c.superblocks.find((s) => s.offset - c.base[s.device]! === 0x10000) ?? c.superblocks[0]! : rng.pick(c.superblocks);
  const before = readAt(c, p, SUPERBLOCK_SIZE);
  const after = Buffer.from(before);
  const fields: Array<[string, Width]> = [
    ['generation', 8], ['root', 8], ['chunk_root', 8], ['log_root', 8], ['total_bytes', 8], ['num_devices', 8], ['sectorsize', 4], ['nodesize', 4],
    ['stripesize', 4], ['sys_chunk_array_size', 4], ['chunk_root_generation', 8], ['incompat_flags', 8], ['compat_ro_flags', 8], ['csum_type', 2],
    ['root_level', 1], ['chunk_root_level', 1], ['log_root_level', 1], ['block_group_root', 8],
  ];
  let what: string;
  if (rng.chance(0.3)) {
    // Inside the bootstrap chunk array: stripes, lengths, types, counts.
    const at = superBlock.offsetOf('sys_chunk_array') + rng.int(Math.max(1, before.readUInt32LE(superBlock.offsetOf('sys_chunk_array_size'))));
    const width = rng.pick([1, 2, 4, 8] as const);
    writeField(after, at, width, interesting(rng, c, readField(after, at, width)));
    what = `sys_chunk_array byte ${at - superBlock.offsetOf('sys_chunk_array')}`;
  } else {
    const [name, width] = rng.pick(fields);
    const at = superBlock.offsetOf(name as never);
    const v = interesting(rng, c, readField(after, at, width));
    writeField(after, at, width, v);
    what = `${name}=${v}`;
  }
  forgeSuperCsum(c, after);
  return base(c, 'super-field', `superblock at ${p.offset}: ${what}, checksum recomputed`, diffPatches(p.device, p.offset, before, after));
};

const truncate: Mutator = (rng, c) => {
  const device = rng.int(c.images.length);
  const size = c.sizes[device]!;
  let to: number;
  if (rng.chance(0.5) && c.blocks.length) {
    const places = rng.pick(c.blocks).places.filter((p) => p.device === device);
    to = places.length ? places[0]!.offset + rng.int(c.nodesize) : rng.int(size);
  } else to = rng.int(size);
  return { ...base(c, 'truncate', `device ${device} cut to ${to} bytes`, []), truncate: [{ device, size: to }] };
};

const removeDevice: Mutator = (rng, c) => {
  if (c.images.length < 2) return undefined;
  const n = rng.range(1, c.images.length - 1);
  const order = c.images.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const remove = order.slice(0, n).sort((a, b) => a - b);
  return { ...base(c, 'remove-device', `device(s) ${remove.join(', ')} removed`, []), remove };
};

export const MUTATORS: Record<string, Mutator> = {
  'forged-field': forgedField,
  'forged-bytes': forgedBytes,
  'forged-loop': forgedLoop,
  'swap-blocks': swapBlocks,
  bitflip,
  'byte-run': byteRun,
  'data-damage': dataDamage,
  'super-field': superField,
  truncate,
  'remove-device': removeDevice,
};

/** Weights: forged damage reaches the most code, so it is drawn most often. */
const WEIGHTS: Array<[string, number]> = [
  ['forged-field', 30], ['forged-bytes', 12], ['forged-loop', 6], ['swap-blocks', 8], ['bitflip', 10], ['byte-run', 8],
  ['data-damage', 8], ['super-field', 8], ['truncate', 5], ['remove-device', 5],
];

/** One mutation for this fixture: one mutator, or (one time in five) two combined. */
export function mutate(rng: Rng, c: Corpus): Mutation {
  const draw = (): Mutation | undefined => {
    const total = WEIGHTS.reduce((s, [, w]) => s + w, 0);
    let r = rng.int(total);
    for (const [name, w] of WEIGHTS) {
      if (r < w) return MUTATORS[name]!(rng, c);
      r -= w;
    }
    return undefined;
  };
  let m: Mutation | undefined;
  for (let tries = 0; !m && tries < 20; tries++) m = draw();
  if (!m) m = bitflip(rng, c)!;
  if (rng.chance(0.2)) {
    const extra = draw();
    if (extra) {
      m = {
        ...m, mutator: `${m.mutator}+${extra.mutator}`, description: `${m.description}; ${extra.description}`,
        patches: [...m.patches, ...extra.patches],
        ...(m.truncate || extra.truncate ? { truncate: [...(m.truncate ?? []), ...(extra.truncate ?? [])] } : {}),
        ...(m.remove || extra.remove ? { remove: [...new Set([...(m.remove ?? []), ...(extra.remove ?? [])])] } : {}),
      };
    }
  }
  // Never remove every member: there would be nothing to open.
  if (m.remove && m.remove.length >= c.images.length) m.remove = m.remove.slice(0, c.images.length - 1);
  return m;
}
