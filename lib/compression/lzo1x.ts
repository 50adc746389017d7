import { CorruptError } from '../errors.js';

// A safe LZO1X decompressor: every read of the input and every write (or back-reference) into the
// output is checked, so any byte string either decodes or raises a CorruptError; no loop runs
// longer than the input or output allows.
//
// The LZO1X stream is a sequence of instructions; the meaning of an opcode byte t < 16 depends on
// `state`, the number of literals copied right after the previous instruction:
//
//   first byte > 17        literal run of (byte - 17) bytes (only at the very start)
//   t = 0..15, state 0     literal run: t + 3 bytes, or for t = 0, 18 + 255 * (count of 0x00) + next
//   t = 0..15, state 1..3  M1: copy 2 bytes from distance 1 + (t >> 2) + (next << 2)
//   t = 0..15, state 4     M1 after a long literal run: copy 3 bytes from 2049 + (t >> 2) + (next << 2)
//   t = 64..255            M2: copy (t >> 5) + 1 bytes from 1 + ((t >> 2) & 7) + (next << 3)
//   t = 32..63             M3: copy (t & 31) + 2 bytes (extended like literal runs when 0),
//                              distance 1 + (le16 >> 2)
//   t = 16..31             M4: copy (t & 7) + 2 bytes (extended when 0), distance
//                              16384 + ((t & 8) << 11) + (le16 >> 2); a zero distance part marks
//                              the end of stream (the 3-byte marker 0x11 0x00 0x00)
//
// After every match, the low two bits of its last distance byte (or of t for M1/M2) give 0..3
// literals to copy next, and become the new state. A literal run sets state 4.
//
// This mirrors the behaviour of the kernel's lzo1x_decompress_safe, including the optional
// "LZO-RLE" bitstream version header (0x11, version) and its zero-run opcode, which Btrfs never
// writes but the kernel decoder would accept.

const M2_MAX_OFFSET = 0x0800;
const M4_BASE = 0x4000;
const MIN_ZERO_RUN_LENGTH = 4;

/** lzo1x_worst_compress(n): the largest LZO1X encoding of n input bytes. */
export function lzo1xWorstCompress(n: number): number {
  return n + Math.floor(n / 16) + 64 + 3;
}

/**
 * Decompress the LZO1X stream src[start..end) into dst[outStart..outEnd). Back-references may not
 * reach before outStart. Returns the number of bytes written.
 */
export function lzo1xDecompress(src: Uint8Array, start: number, end: number, dst: Uint8Array, outStart: number, outEnd: number): number {
  let ip = start;
  let op = outStart;

  const fail = (what: string): never => {
    throw new CorruptError(`lzo1x: ${what} at stream byte ${ip - start} of ${end - start} (output ${op - outStart})`);
  };
  /** A run length continued by 0x00 bytes (255 each) and one final byte. */
  const extended = (base: number): number => {
    let zeros = 0;
    for (;;) {
      if (ip >= end) fail('input overrun in a run length');
      const b = src[ip++]!;
      if (b !== 0) return base + zeros * 255 + b;
      zeros++;
    }
  };
  const copyLiterals = (n: number): void => {
    if (end - ip < n) fail(`input overrun: ${n} literals, ${end - ip} bytes left`);
    if (outEnd - op < n) fail(`output overrun: ${n} literals, room for ${outEnd - op}`);
    if (n < 32) {
      for (let i = 0; i < n; i++) dst[op + i] = src[ip + i]!;
    } else {
      dst.set(src.subarray(ip, ip + n), op);
    }
    ip += n;
    op += n;
  };
  const copyMatch = (dist: number, len: number): void => {
    if (dist > op - outStart) fail(`lookbehind overrun: distance ${dist}, only ${op - outStart} bytes decoded`);
    if (outEnd - op < len) fail(`output overrun: match of ${len}, room for ${outEnd - op}`);
    let from = op - dist;
    if (dist >= len && len >= 32) {
      dst.copyWithin(op, from, from + len);
      op += len;
      return;
    }
    // Overlapping copies (dist < len) are how LZ77 repeats short patterns: they must go byte by
    // byte, each byte possibly one this copy just wrote.
    const stop = op + len;
    while (op < stop) dst[op++] = dst[from++]!;
  };

  if (end - ip < 3) fail('input overrun: stream shorter than the end marker');

  let version = 0;
  if (end - ip >= 5 && src[ip] === 17) {
    version = src[ip + 1]!;
    ip += 2;
  }

  let state = 0;
  let t: number;
  let next: number;

  if (src[ip]! > 17) {
    t = src[ip++]! - 17;
    copyLiterals(t);
    state = t < 4 ? t : 4;
  }

  for (;;) {
    if (ip >= end) fail('input overrun: no end-of-stream marker');
    t = src[ip++]!;

    if (t < 16) {
      if (state === 0) {
        copyLiterals(t === 0 ? extended(15) + 3 : t + 3);
        state = 4;
        continue;
      }
      if (ip >= end) fail('input overrun in an M1 match');
      const b = src[ip++]!;
      next = t & 3;
      if (state !== 4) copyMatch(1 + (t >> 2) + (b << 2), 2);
      else copyMatch(1 + M2_MAX_OFFSET + (t >> 2) + (b << 2), 3);
    } else if (t >= 64) {
      if (ip >= end) fail('input overrun in an M2 match');
      const b = src[ip++]!;
      next = t & 3;
      copyMatch(1 + ((t >> 2) & 7) + (b << 3), (t >> 5) + 1);
    } else if (t >= 32) {
      const len = (t & 31) === 0 ? extended(31) + 2 : (t & 31) + 2;
      if (end - ip < 2) fail('input overrun in an M3 match');
      const d = src[ip]! | (src[ip + 1]! << 8);
      ip += 2;
      next = d & 3;
      copyMatch(1 + (d >> 2), len);
    } else {
      if (end - ip < 2) fail('input overrun in an M4 match');
      let d = src[ip]! | (src[ip + 1]! << 8);
      if (version !== 0 && (d & 0xfffc) === 0xfffc && (t & 0xf8) === 0x18) {
        // LZO-RLE zero run: length from t's low bits and one more byte.
        if (end - ip < 3) fail('input overrun in a zero run');
        const len = ((t & 7) | (src[ip + 2]! << 3)) + MIN_ZERO_RUN_LENGTH;
        if (outEnd - op < len) fail(`output overrun: zero run of ${len}, room for ${outEnd - op}`);
        dst.fill(0, op, op + len);
        op += len;
        next = d & 3;
        ip += 3;
      } else {
        let len = (t & 7) + 2;
        if (len === 2) {
          len = extended(7) + 2;
          if (end - ip < 2) fail('input overrun in an M4 match');
          d = src[ip]! | (src[ip + 1]! << 8);
        }
        ip += 2;
        next = d & 3;
        const dist = ((t & 8) << 11) + (d >> 2);
        if (dist === 0) {
          if (len !== 3) fail(`bad end-of-stream marker (length ${len})`);
          if (ip !== end) fail(`${end - ip} bytes after the end-of-stream marker`);
          return op - outStart;
        }
        copyMatch(dist + M4_BASE, len);
      }
    }
    state = next;
    if (next !== 0) copyLiterals(next);
  }
}
