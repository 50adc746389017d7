// Adler-32 (RFC 1950), as EWF stores it for section headers, tables and uncompressed chunks.

const MOD = 65521;
/** The most bytes that can be summed before the 32-bit sums must be reduced (zlib's NMAX). */
const NMAX = 5552;

export function adler32(data: Uint8Array, start = 1): number {
  let a = start & 0xffff;
  let b = (start >>> 16) & 0xffff;
  let i = 0;
  const n = data.length;
  while (i < n) {
    const end = Math.min(n, i + NMAX);
    // Eight bytes a step: the loop's own overhead was a fifth of checking an E01's stored chunks.
    const end8 = end - ((end - i) & 7);
    for (; i < end8; i += 8) {
      a += data[i]!; b += a; a += data[i + 1]!; b += a; a += data[i + 2]!; b += a; a += data[i + 3]!; b += a;
      a += data[i + 4]!; b += a; a += data[i + 5]!; b += a; a += data[i + 6]!; b += a; a += data[i + 7]!; b += a;
    }
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= MOD;
    b %= MOD;
  }
  return ((b << 16) | a) >>> 0;
}
