// Shared pieces of the dump model: the zod schemas every item schema is built from, and the helpers that
// turn on-disk values into model values. The model is the JSON: u64 values are decimal strings (they do
// not fit a JSON number), names are UTF-8 text with the raw bytes beside them when they are not UTF-8.

import { z } from 'zod';
import type { Key } from '../ondisk/key.js';
import { formatUuid } from '../ondisk/uuid.js';
import { formatDumpKey } from './names.js';
import { formatTimespec } from './time.js';

/** An unsigned 64-bit value as a decimal string. */
export const u64 = z.string().regex(/^(0|[1-9][0-9]{0,19})$/, 'u64 as a decimal string');
/** A signed 64-bit value as a decimal string (qgroup limits, timespec seconds). */
export const s64 = z.string().regex(/^-?(0|[1-9][0-9]{0,18})$/, 's64 as a decimal string');
export const u32 = z.number().int().min(0).max(0xffffffff);
export const u16 = z.number().int().min(0).max(0xffff);
export const u8 = z.number().int().min(0).max(0xff);
export const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
export const hex = z.string().regex(/^([0-9a-f]{2})*$/, 'lowercase hex bytes');

export const keySchema = z.strictObject({ objectid: u64, type: u8, offset: u64 });
export type DumpKey = z.infer<typeof keySchema>;

export const timespecSchema = z.strictObject({ sec: s64, nsec: u32 });
export type DumpTimespec = z.infer<typeof timespecSchema>;

/**
 * Bytes that are usually text (file names, xattr values): `text` is their UTF-8 reading; `hex` is present
 * when that reading does not give the bytes back. `null` text means hidden (--hide-names).
 */
export const textBytesSchema = z.strictObject({ text: z.string().nullable(), hex: hex.optional() });
export type TextBytes = z.infer<typeof textBytesSchema>;

export const s = (v: bigint): string => v.toString();

export function keyModel(k: Key): DumpKey {
  return { objectid: k.objectid.toString(), type: k.type, offset: k.offset.toString() };
}

export function keyText(k: DumpKey): string {
  return formatDumpKey(BigInt(k.objectid), k.type, BigInt(k.offset));
}

export function timespecModel(t: { sec: bigint; nsec: number }): DumpTimespec {
  return { sec: t.sec.toString(), nsec: t.nsec };
}

export function timespecText(t: DumpTimespec): string {
  return formatTimespec(BigInt(t.sec), t.nsec);
}

export function uuidModel(b: Buffer): string {
  return formatUuid(b);
}

export function textBytes(b: Buffer, hidden = false): TextBytes {
  if (hidden) return { text: null };
  const text = b.toString('utf8');
  return Buffer.from(text, 'utf8').equals(b) ? { text } : { text, hex: b.toString('hex') };
}

export function rawBytes(t: TextBytes): Buffer {
  if (t.hex !== undefined) return Buffer.from(t.hex, 'hex');
  return Buffer.from(t.text ?? '', 'utf8');
}

/**
 * printf("%.*s", n, buf) over a buffer of at most `limit` bytes: stops at the limit or at a NUL. The
 * result is a byte string (one char per byte), the form every dump text is assembled in.
 */
export function cString(t: TextBytes, limit = 255): string {
  const b = rawBytes(t);
  let end = Math.min(b.length, limit);
  const nul = b.indexOf(0);
  if (nul >= 0 && nul < end) end = nul;
  return b.toString('latin1', 0, end);
}

/** A C-string printed with "%s" where the bytes came straight from disk (string items). */
export function latin1(b: Buffer): string {
  return b.toString('latin1');
}
