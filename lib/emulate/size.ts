// Sizes as people write them on a command line: 4096, 64M, 1.5GiB, 512k, unlimited.

import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** Bytes (binary units, with or without "iB"/"B"); Infinity for "unlimited". */
export function parseSize(text: string, what = 'size'): number {
  const t = text.trim().toLowerCase();
  if (t === 'unlimited' || t === 'inf' || t === 'none') return Infinity;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/.exec(t);
  if (!m) throw new UsageError(`${what} "${text}" is not a size (examples: 4096, 512K, 64M, 1.5G, unlimited)`);
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]!]!);
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${what} "${text}" is too large`);
  return bytes;
}
