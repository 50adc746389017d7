// RAID5/6 parity: for every full stripe row that holds allocated extents, P (and Q) recomputed from
// the data stripes as stored must equal the parity stripes as stored. Rows with a missing member are
// skipped: there is nothing to compare against.

import { BtrfsError, IoError } from '../errors.js';
import type { Filesystem } from '../fs/filesystem.js';
import { KeyType, ObjectId } from '../ondisk/constants.js';
import type { MappedChunk } from '../volume/chunk-map.js';
import { parityStripes } from '../volume/raid.js';
import { computeP, computeQ } from '../volume/raid56.js';
import { problemFrom, type ProblemLog } from './problem.js';

const MAX_EXTENT_SIZE = 128n * 1024n * 1024n;

/** Logical ranges [start, end) in use, from the extent tree's EXTENT_ITEM and METADATA_ITEM keys. */
export async function usedRanges(fs: Filesystem, extentLeaves: bigint[]): Promise<Array<[bigint, bigint]>> {
  const out: Array<[bigint, bigint]> = [];
  for (const bytenr of extentLeaves) {
    let block;
    try {
      block = await fs.blocks.read(bytenr, { tree: ObjectId.EXTENT_TREE });
    } catch (e) {
      if (!(e instanceof BtrfsError)) throw e;
      continue;
    }
    for (const it of block.items) {
      const k = it.key;
      // No extent is longer than BTRFS_MAX_EXTENT_SIZE: a forged length cannot make the pass read a whole chunk per item.
      if (k.type === KeyType.EXTENT_ITEM) out.push([k.objectid, k.objectid + (k.offset < MAX_EXTENT_SIZE ? k.offset : MAX_EXTENT_SIZE)]);
      else if (k.type === KeyType.METADATA_ITEM) out.push([k.objectid, k.objectid + BigInt(fs.nodesize)]);
    }
  }
  return out;
}

export async function checkParity(fs: Filesystem, used: Array<[bigint, bigint]>, log: ProblemLog): Promise<void> {
  const chunks = fs.volume.chunks.all().filter((c) => parityStripes(c.profile) > 0);
  if (chunks.length === 0) return;
  const merged = mergeRanges(used);
  for (const chunk of chunks) {
    const k = BigInt(chunk.numStripes - parityStripes(chunk.profile));
    const rowBytes = k * chunk.stripeLen;
    const rows = new Set<bigint>();
    const end = chunk.logical + chunk.length;
    for (const [a, b] of merged) {
      if (b <= chunk.logical || a >= end) continue;
      const from = (maxBig(a, chunk.logical) - chunk.logical) / rowBytes;
      const to = (minBig(b, end) - 1n - chunk.logical) / rowBytes;
      // An extent item claiming more than its chunk is reported elsewhere; cap the rows it adds.
      for (let r = from; r <= to && rows.size < 1_000_000; r++) rows.add(r);
    }
    for (const row of [...rows].sort((x, y) => (x < y ? -1 : 1))) await checkRow(fs, chunk, row, usedSectors(fs, chunk, row, merged), log);
  }
}

/** Sorted, non-overlapping. */
function mergeRanges(ranges: Array<[bigint, bigint]>): Array<[bigint, bigint]> {
  const sorted = [...ranges].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const out: Array<[bigint, bigint]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = maxBig(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/**
 * Which sector offsets of the row's stripe units protect data in use. As the kernel's scrub, only
 * those are compared: free space may have been discarded on a data stripe without touching parity.
 */
function usedSectors(fs: Filesystem, chunk: MappedChunk, row: bigint, merged: Array<[bigint, bigint]>): boolean[] {
  const S = BigInt(fs.sectorsize);
  const sl = chunk.stripeLen;
  const k = chunk.numStripes - parityStripes(chunk.profile);
  const out = new Array<boolean>(Number(sl / S)).fill(false);
  for (let i = 0; i < k; i++) {
    const unitStart = chunk.logical + (row * BigInt(k) + BigInt(i)) * sl;
    const unitEnd = unitStart + sl;
    let lo = 0;
    let hi = merged.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (merged[mid]![1] <= unitStart) lo = mid + 1;
      else hi = mid;
    }
    for (let r = lo; r < merged.length && merged[r]![0] < unitEnd; r++) {
      const a = maxBig(merged[r]![0], unitStart);
      const b = minBig(merged[r]![1], unitEnd);
      for (let at = ((a - unitStart) / S) * S; at < b - unitStart; at += S) out[Number(at / S)] = true;
    }
  }
  return out;
}

async function checkRow(fs: Filesystem, chunk: MappedChunk, row: bigint, inUse: boolean[], log: ProblemLog): Promise<void> {
  const n = chunk.numStripes;
  const k = n - parityStripes(chunk.profile);
  const sl = chunk.stripeLen;
  const units: Buffer[] = [];
  // Member i of the row (data 0..k-1, then P, then Q) lives on stripe (row + i) % n.
  const stripeOf = (i: number) => Number((row + BigInt(i)) % BigInt(n));
  for (let i = 0; i < n; i++) {
    const stripe = chunk.stripes[stripeOf(i)]!;
    const dev = fs.volume.devices.get(stripe.devid);
    if (!dev) {
      log.stats.skippedCopies++;
      return;
    }
    const physical = stripe.offset + row * sl;
    try {
      if (physical + sl > BigInt(dev.source.size)) throw new IoError(`stripe unit [${physical}, +${sl}) is past the end of the device (${dev.source.size} bytes)`, { device: dev.source.name, devid: stripe.devid, physical });
      units.push(await dev.source.read(Number(physical), Number(sl)));
    } catch (e) {
      if (!(e instanceof BtrfsError)) throw e;
      log.add(problemFrom('parity', e, { device: dev.source.name, devid: stripe.devid, physical, logical: chunk.logical + row * BigInt(k) * sl }));
      return;
    }
  }
  log.stats.parityRows++;
  log.progressed();
  const data = units.slice(0, k);
  const expected: Array<[string, Buffer, number]> = [['P', computeP(data), k]];
  if (n - k === 2) expected.push(['Q', computeQ(data), k + 1]);
  for (const [name, want, member] of expected) {
    const have = units[member]!;
    const sectors = mismatchedSectors(have, want, fs.sectorsize).filter((j) => inUse[j]);
    if (sectors.length === 0) continue;
    const stripe = chunk.stripes[stripeOf(member)]!;
    const first = sectors[0]!;
    log.add({
      kind: 'parity', code: 'EBTRFSCORRUPT',
      message: `${name} does not match the data stripes in ${sectors.length} sector(s) of the row`,
      device: fs.volume.devices.get(stripe.devid)?.source.name, devid: stripe.devid,
      physical: stripe.offset + row * sl + BigInt(first * fs.sectorsize),
      logical: chunk.logical + row * BigInt(k) * sl, length: BigInt(k) * sl,
    });
  }
}

function mismatchedSectors(a: Buffer, b: Buffer, S: number): number[] {
  const out: number[] = [];
  for (let i = 0; i * S < a.length; i++) if (a.compare(b, i * S, (i + 1) * S, i * S, (i + 1) * S) !== 0) out.push(i);
  return out;
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
