// EXTENT_CSUM in dumps: the data range the item covers (one checksum per sector from the key offset)
// and, with --csum-items, every checksum. CSUM_ITEM (type 120) is an obsolete type progs still names.

import { z } from 'zod';
import { hex, u32, u64 } from '../common.js';
import type { ItemContext } from './context.js';

export const extentCsumBodySchema = z.strictObject({
  kind: z.literal('extent_csum'),
  start: u64,
  end: u64,
  /** Bytes of data covered: whole checksums in the item times the sector size. */
  length: u32,
  /** --csum-items only: the checksums, in sector order. */
  csums: z.array(hex).optional(),
});
export type ExtentCsumBody = z.infer<typeof extentCsumBodySchema>;

export const csumItemBodySchema = z.strictObject({ kind: z.literal('csum_item') });

export function buildExtentCsum(start: bigint, data: Buffer, ctx: ItemContext): ExtentCsumBody {
  const count = Math.floor(data.length / ctx.csumSize);
  // The length is a u32 in progs; an item never holds enough checksums to overflow it.
  const length = (count * ctx.sectorsize) >>> 0;
  const body: ExtentCsumBody = { kind: 'extent_csum', start: start.toString(), end: (start + BigInt(length)).toString(), length };
  if (ctx.csumItems) {
    body.csums = [];
    for (let i = 0; i < count; i++) body.csums.push(data.toString('hex', i * ctx.csumSize, (i + 1) * ctx.csumSize));
  }
  return body;
}

/** Checksums per line: one 32-byte field's worth, at least one (4 crc32c, 2 xxhash64, 1 sha256/blake2b). */
function perLine(csumHexLength: number): number {
  return Math.max(1, Math.floor(32 / (csumHexLength / 2) / 2));
}

export function printExtentCsum(b: ExtentCsumBody, sectorsize: number): string[] {
  const out = [`\t\trange start ${b.start} end ${b.end} length ${b.length}`];
  if (b.csums?.length) {
    const n = perLine(b.csums[0]!.length);
    let at = BigInt(b.start);
    for (let i = 0; i < b.csums.length; i += n) {
      const parts: string[] = [];
      for (const c of b.csums.slice(i, i + n)) {
        parts.push(`[${at}] 0x${c}`);
        at += BigInt(sectorsize);
      }
      out.push(`\t\t${parts.join(' ')}`);
    }
  }
  return out;
}
