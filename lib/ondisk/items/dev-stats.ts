// Device statistics: a PERSISTENT_ITEM keyed (DEV_STATS, PERSISTENT_ITEM, devid) in the device tree,
// an array of le64 counters. Newer kernels may append counters; older ones may write fewer.

import { CorruptError } from '../../errors.js';

/** BTRFS_DEV_STAT_*: write, read, flush, corruption and generation errors. */
export const DEV_STAT_NAMES = ['write_errs', 'read_errs', 'flush_errs', 'corruption_errs', 'generation_errs'] as const;
export const DEV_STAT_VALUES_MAX = DEV_STAT_NAMES.length;

/** Every whole le64 in the item, in order. */
export function decodeDevStats(data: Buffer): bigint[] {
  if (data.length % 8 !== 0) throw new CorruptError(`dev stats item is ${data.length} bytes, not a multiple of 8`);
  const values: bigint[] = [];
  for (let at = 0; at < data.length; at += 8) values.push(data.readBigUInt64LE(at));
  return values;
}
