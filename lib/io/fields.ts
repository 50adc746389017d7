// Big-endian fields for the struct helper (lib/ondisk/struct.ts): qcow2 and VHD store their numbers
// big-endian, where Btrfs, EWF, VMDK and VHDX use little-endian.

import type { FieldType } from '../ondisk/struct.js';

export const be16: FieldType<number> = { size: 2, read: (b, o) => b.readUInt16BE(o), inline: (at) => `b.readUInt16BE(o + ${at})` };
export const be32: FieldType<number> = { size: 4, read: (b, o) => b.readUInt32BE(o), inline: (at) => `b.readUInt32BE(o + ${at})` };
export const be64: FieldType<bigint> = { size: 8, read: (b, o) => b.readBigUInt64BE(o), inline: (at) => `b.readBigUInt64BE(o + ${at})` };

/** A u64 from the image as a safe number, or undefined when it is past 2^53 (no file is that large). */
export function safeNumber(v: bigint): number | undefined {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}
