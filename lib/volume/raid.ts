// RAID profiles: where the bytes at an offset inside a chunk live on its stripes. Pure arithmetic,
// following the kernel's btrfs_map_block for reads (data stripes only; parity is for rebuild).

import { CorruptError } from '../errors.js';
import { BLOCK_GROUP_PROFILE_MASK, BlockGroupFlag } from '../ondisk/constants.js';
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

/** Checks in the spirit of the kernel's btrfs_check_chunk_valid: stripe counts fit the profile. */
export function validateChunk(chunk: ChunkItem, sectorsize: number): Profile {
  const profile = profileOf(chunk.type);
  const n = chunk.numStripes;
  const fail = (what: string) => new CorruptError(`invalid chunk: ${what} (${profile}, num_stripes ${n}, sub_stripes ${chunk.subStripes})`);
  if (chunk.length === 0n || chunk.length % BigInt(sectorsize) !== 0n) throw fail(`length ${chunk.length} not a positive multiple of sectorsize`);
  const sl = chunk.stripeLen;
  if (sl === 0n || (sl & (sl - 1n)) !== 0n || sl > 1n << 32n) throw fail(`stripe_len ${sl} is not a power of two`);
  const ok: Record<Profile, boolean> = {
    single: n === 1,
    dup: n === 2,
    raid0: n >= 1,
    raid1: n === 2,
    raid1c3: n === 3,
    raid1c4: n === 4,
    raid10: chunk.subStripes === 2 && n >= 2 && n % 2 === 0,
    raid5: n >= 2,
    raid6: n >= 3,
  };
  if (!ok[profile]) throw fail('stripe count does not fit the profile');
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
