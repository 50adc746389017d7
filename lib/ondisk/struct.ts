// A small typed struct helper: each on-disk layout is declared once, and its size, field offsets and
// decoded TypeScript type all derive from that one declaration. Decoding is pure over a Buffer.

import { CorruptError } from '../errors.js';

export interface FieldType<T> {
  readonly size: number;
  read(buf: Buffer, offset: number): T;
  /** The read as a JavaScript expression over variables `b` and `o`, for generated decoders. */
  readonly inline?: (at: number) => string;
}

export const u8: FieldType<number> = { size: 1, read: (b, o) => b[o]!, inline: (at) => `b[o + ${at}]` };
export const le16: FieldType<number> = { size: 2, read: (b, o) => b.readUInt16LE(o), inline: (at) => `b.readUInt16LE(o + ${at})` };
export const le32: FieldType<number> = { size: 4, read: (b, o) => b.readUInt32LE(o), inline: (at) => `b.readUInt32LE(o + ${at})` };
/** u64 stays bigint: object ids like -10ULL and byte offsets past 2^53 must not lose bits. */
export const le64: FieldType<bigint> = { size: 8, read: (b, o) => b.readBigUInt64LE(o), inline: (at) => `b.readBigUInt64LE(o + ${at})` };
/** s64 seconds in timespecs (times before 1970 are negative). */
export const les64: FieldType<bigint> = { size: 8, read: (b, o) => b.readBigInt64LE(o), inline: (at) => `b.readBigInt64LE(o + ${at})` };

/** A fixed run of raw bytes, copied so the result outlives the block buffer it came from. */
export function bytes(n: number): FieldType<Buffer> {
  return { size: n, read: (b, o) => Buffer.from(b.subarray(o, o + n)) };
}

export type Decoded<F> = { [K in keyof F]: F[K] extends FieldType<infer T> ? T : never };

export interface Struct<T> extends FieldType<T> {
  readonly name: string;
  offsetOf(field: keyof T & string): number;
  /** Decode at `offset`; a struct that would run past the buffer is a CorruptError, never a RangeError. */
  decode(buf: Buffer, offset?: number): T;
}

export function struct<F extends Record<string, FieldType<unknown>>>(name: string, fields: F): Struct<Decoded<F>> {
  const layout: Array<[string, number, FieldType<unknown>]> = [];
  const offsets = new Map<string, number>();
  let size = 0;
  for (const [field, type] of Object.entries(fields)) {
    layout.push([field, size, type]);
    offsets.set(field, size);
    size += type.size;
  }
  const read = generateReader<Decoded<F>>(name, layout);
  return {
    name,
    size,
    read,
    offsetOf(field) {
      const at = offsets.get(field);
      if (at === undefined) throw new Error(`${name} has no field ${field}`);
      return at;
    },
    decode(buf, offset = 0) {
      if (!Number.isInteger(offset) || offset < 0 || offset + size > buf.length) {
        throw new CorruptError(`${name} (${size} bytes) at offset ${offset} runs past the end of a ${buf.length}-byte buffer`);
      }
      return read(buf, offset);
    },
  };
}

/**
 * The decoder of a layout as one generated function returning one object literal: every object it
 * makes has the same shape from birth, and the basic fields are read inline. Built from our own
 * declarations only (never from image data). A loop assigning fields one by one was the largest
 * single cost of walking a tree of small files.
 */
function generateReader<T>(name: string, layout: Array<[string, number, FieldType<unknown>]>): (buf: Buffer, offset: number) => T {
  const readers: Array<FieldType<unknown>['read']> = [];
  const fields = layout.map(([field, at, type]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field)) throw new Error(`${name}: field name ${field} is not an identifier`);
    if (type.inline) return `${field}: ${type.inline(at)}`;
    readers.push(type.read);
    return `${field}: r${readers.length - 1}(b, o + ${at})`;
  });
  const params = readers.map((_, i) => `r${i}`);
  const make = new Function(...params, `return function read_${name.replace(/\W+/g, '_')}(b, o) { return { ${fields.join(', ')} }; };`);
  return make(...readers) as (buf: Buffer, offset: number) => T;
}

/** A fixed-length array of one field type (e.g. the superblock's four backup roots). */
export function array<T>(type: FieldType<T>, count: number): FieldType<T[]> {
  return {
    size: type.size * count,
    read: (b, o) => Array.from({ length: count }, (_, i) => type.read(b, o + i * type.size)),
  };
}

/** Convert a u64 to a JS number where the value is known to fit (sizes, offsets inside one device). */
export function toNumber(value: bigint, what: string): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CorruptError(`${what} ${value} does not fit in 53 bits`);
  }
  return Number(value);
}
