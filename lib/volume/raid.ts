// RAID profiles: where the bytes at an offset inside a chunk live on its stripes. Pure arithmetic,
// following the kernel's btrfs_map_block for reads (data stripes only; parity is for rebuild).

import { CorruptError } from '../errors.js';
import { BLOCK_GROUP_PROFILE_MASK, BLOCK_GROUP_TYPE_MASK, BlockGroupFlag, STRIPE_LEN } from '../ondisk/constants.js';
import { U64_MAX } from '../ondisk/key.js';
import type { ChunkItem } from '../ondisk/items/chunk.js';

export type Profile = 'single' | 'dup' | 'raid0' | 'raid1' | 'raid1c3' | 'raid1c4' | 'raid10' | 'raid5' | 'raid6';

const PROFILE_BITS: Array<[bigint, Profile]> = [
  [BlockGroupFlag.RAID0, 'raid0'],
  [BlockGroupFlag.RAID1, 'raid1'],
  [BlockGroupFlag.DUP, 'dup'],
  [BlockGroupFlag.RAID10, 'raid10'],
  [BlockGroupFlag.RAID5, 'raid5'],
  [BlockGroupFlag.RAID6, 'raid6'],
  [BlockGroupFlag.RAID1C3, 'raid1c3'],
  [BlockGroupFlag.RAID1C4, 'raid1c4'],
];

export function profileOf(type: bigint): Profile {
  const bits = type & BLOCK_GROUP_PROFILE_MASK;
  if (bits === 0n) return 'single';
  const found = PROFILE_BITS.filter(([bit]) => bits & bit);
  if (found.length !== 1) throw new CorruptError(`chunk type 0x${type.toString(16)} has ${found.length} profile bits`);
  return found[0]![1];
}

/** Every chunk type bit the format defines: the three types and the eight profiles. */
const VALID_CHUNK_TYPE = BLOCK_GROUP_TYPE_MASK | BLOCK_GROUP_PROFILE_MASK;
/** The kernel caps a chunk so that its stripe numbers fit in a u32 (256 GiB of 64 KiB stripes). */
const MAX_CHUNK_LENGTH = STRIPE_LEN * 0xffffffffn;

/**
 * The rules of the kernel's btrfs_check_chunk_valid: a chunk's type, length, stripe length and
 * stripe count must fit its profile before any address arithmetic trusts it. `logical` is the key
 * offset; `mixed` says whether the MIXED_GROUPS feature allows data and metadata in one chunk.
 */
export function validateChunk(chunk: ChunkItem, sectorsize: number, logical?: bigint, mixed = true): Profile {
  const n = chunk.numStripes;
  const fail = (what: string) => new CorruptError(`invalid chunk: ${what}`, logical !== undefined ? { logical } : {});
  const type = chunk.type;
  if (type & ~VALID_CHUNK_TYPE) throw fail(`unrecognized chunk type 0x${(type & ~VALID_CHUNK_TYPE).toString(16)}`);
  const profile = profileOf(type);
  if ((type & BLOCK_GROUP_TYPE_MASK) === 0n) throw fail(`missing chunk type flag, have 0x${type.toString(16)}`);
  if (type & BlockGroupFlag.SYSTEM && type & (BlockGroupFlag.METADATA | BlockGroupFlag.DATA)) {
    throw fail(`system chunk with data or metadata type 0x${type.toString(16)}`);
  }
  if (!mixed && type & BlockGroupFlag.METADATA && type & BlockGroupFlag.DATA) throw fail(`mixed chunk type 0x${type.toString(16)} without mixed_groups`);
  if (n === 0) throw fail('num_stripes is 0');
  if (logical !== undefined && logical % BigInt(sectorsize) !== 0n) throw fail(`logical ${logical} not aligned to sectorsize ${sectorsize}`);
  if (chunk.sectorSize !== sectorsize) throw fail(`sector_size ${chunk.sectorSize}, expect ${sectorsize}`);
  if (chunk.length === 0n || chunk.length % BigInt(sectorsize) !== 0n) throw fail(`length ${chunk.length} not a positive multiple of sectorsize`);
  if (chunk.length >= MAX_CHUNK_LENGTH) throw fail(`length ${chunk.length} too large, limit ${MAX_CHUNK_LENGTH}`);
  if (logical !== undefined && logical + chunk.length > U64_MAX) throw fail(`logical ${logical} + length ${chunk.length} overflows`);
  if (chunk.stripeLen !== STRIPE_LEN) throw fail(`stripe_len ${chunk.stripeLen}, expect ${STRIPE_LEN}`);
  const ok: Record<Profile, boolean> = {
    single: n === 1,
    dup: n === 2,
    raid0: n >= 1,
    raid1: n === 2,
    raid1c3: n === 3,
    raid1c4: n === 4,
    raid10: chunk.subStripes === 2 && n >= 2 && n % 2 === 0,
    raid5: n >= 2,
    // GF(2^8) tells at most 255 data stripes apart.
    raid6: n >= 3 && n <= 257,
  };
  if (!ok[profile]) throw fail(`num_stripes:sub_stripes ${n}:${chunk.subStripes} does not fit ${profile}`);
  return profile;
}

export function parityStripes(profile: Profile): number {
  return profile === 'raid5' ? 1 : profile === 'raid6' ? 2 : 0;
}

/** Number of independent copies a read can choose from (RAID5/6 rebuild is not a copy). */
export function copiesOf(profile: Profile, chunk: ChunkItem): number {
  switch (profile) {
    case 'dup': case 'raid1': case 'raid1c3': case 'raid1c4': return chunk.numStripes;
    case 'raid10': return chunk.subStripes;
    default: return 1;
  }
}

export interface StripePlace {
  /** Index into chunk.stripes. */
  stripe: number;
  /** Byte offset on that stripe's device. */
  physical: bigint;
}

export interface MappedUnit {
  /** Every copy of the bytes at this offset, mirror 0 first. */
  copies: StripePlace[];
  /** Bytes from this offset to the end of the stripe unit (where the next device takes over). */
  unitRemaining: bigint;
}

/** Where the byte at `offset` (relative to the chunk start) lives. */
export function mapOffset(chunk: ChunkItem, profile: Profile, offset: bigint): MappedUnit {
  const sl = chunk.stripeLen;
  const n = chunk.numStripes;
  const at = (stripe: number, devOffset: bigint): StripePlace => ({ stripe, physical: chunk.stripes[stripe]!.offset + devOffset });
  switch (profile) {
    case 'single':
    case 'dup':
    case 'raid1':
    case 'raid1c3':
    case 'raid1c4':
      // Every stripe holds the whole chunk, unstriped.
      return { copies: chunk.stripes.map((_, i) => at(i, offset)), unitRemaining: chunk.length - offset };
  }
  const stripeNr = offset / sl;
  const inUnit = offset % sl;
  const unitRemaining = sl - inUnit;
  if (profile === 'raid0') {
    const N = BigInt(n);
    return { copies: [at(Number(stripeNr % N), (stripeNr / N) * sl + inUnit)], unitRemaining };
  }
  if (profile === 'raid10') {
    const sub = chunk.subStripes;
    const factor = BigInt(n / sub);
    const first = Number(stripeNr % factor) * sub;
    const dev = (stripeNr / factor) * sl + inUnit;
    return { copies: Array.from({ length: sub }, (_, i) => at(first + i, dev)), unitRemaining };
  }
  // RAID5/6: rows of data stripes plus parity, parity rotating one device per row.
  const dataStripes = BigInt(n - parityStripes(profile));
  const row = stripeNr / dataStripes;
  const index = stripeNr % dataStripes;
  const stripe = Number((row + index) % BigInt(n));
  return { copies: [at(stripe, row * sl + inUnit)], unitRemaining };
}

/** The full stripe (all data and parity places) of a RAID5/6 row, for rebuilding a lost data stripe. */
export function raid56Row(chunk: ChunkItem, profile: Profile, offset: bigint): {
  row: bigint; dataIndex: number; data: StripePlace[]; p: StripePlace; q?: StripePlace; inUnit: bigint;
} {
  const sl = chunk.stripeLen;
  const n = chunk.numStripes;
  const dataCount = n - parityStripes(profile);
  const stripeNr = offset / sl;
  const row = stripeNr / BigInt(dataCount);
  const inUnit = offset % sl;
  const place = (i: number): StripePlace => {
    const stripe = Number((row + BigInt(i)) % BigInt(n));
    return { stripe, physical: chunk.stripes[stripe]!.offset + row * sl + inUnit };
  };
  const data = Array.from({ length: dataCount }, (_, i) => place(i));
  return {
    row, dataIndex: Number(stripeNr % BigInt(dataCount)), data, p: place(dataCount),
    ...(profile === 'raid6' ? { q: place(dataCount + 1) } : {}), inUnit,
  };
}
