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

function lzoError(what: string, ip: number, start: number, end: number, op: number, outStart: number): CorruptError {
  return new CorruptError(`lzo1x: ${what} at stream byte ${ip - start} of ${end - start} (output ${op - outStart})`);
}

/**
 * Decompress the LZO1X stream src[start..end) into dst[outStart..outEnd). Back-references may not
 * reach before outStart. Returns the number of bytes written.
 */
export function lzo1xDecompress(src: Uint8Array, start: number, end: number, dst: Uint8Array, outStart: number, outEnd: number): number {
  // One flat loop with no helper closures: this runs once per sector of every compressed extent,
  // and V8 keeps it fast only while everything stays in locals.
  let ip = start;
  let op = outStart;
  let state = 0;
  let t = 0;
  let next = 0;
  let len = 0;
  let dist = 0;
  let b = 0;

  if (end - ip < 3) throw lzoError('input overrun: stream shorter than the end marker', ip, start, end, op, outStart);

  let version = 0;
  if (end - ip >= 5 && src[ip] === 17) {
    version = src[ip + 1]!;
    ip += 2;
  }

  if (src[ip]! > 17) {
    len = src[ip++]! - 17;
    if (end - ip < len) throw lzoError(`input overrun: ${len} literals, ${end - ip} bytes left`, ip, start, end, op, outStart);
    if (outEnd - op < len) throw lzoError(`output overrun: ${len} literals, room for ${outEnd - op}`, ip, start, end, op, outStart);
    for (let i = 0; i < len; i++) dst[op++] = src[ip++]!;
    state = len < 4 ? len : 4;
  }

  for (;;) {
    if (ip >= end) throw lzoError('input overrun: no end-of-stream marker', ip, start, end, op, outStart);
    t = src[ip++]!;

    if (t < 16) {
      if (state === 0) {
        // Literal run.
        if (t === 0) {
          let zeros = 0;
          for (;;) {
            if (ip >= end) throw lzoError('input overrun in a run length', ip, start, end, op, outStart);
            b = src[ip++]!;
            if (b !== 0) break;
            zeros++;
          }
          len = 18 + zeros * 255 + b;
        } else {
          len = t + 3;
        }
        if (end - ip < len) throw lzoError(`input overrun: ${len} literals, ${end - ip} bytes left`, ip, start, end, op, outStart);
        if (outEnd - op < len) throw lzoError(`output overrun: ${len} literals, room for ${outEnd - op}`, ip, start, end, op, outStart);
        if (len < 32) {
          for (let i = 0; i < len; i++) dst[op++] = src[ip++]!;
        } else {
          dst.set(src.subarray(ip, ip + len), op);
          ip += len;
          op += len;
        }
        state = 4;
        continue;
      }
      if (ip >= end) throw lzoError('input overrun in an M1 match', ip, start, end, op, outStart);
      b = src[ip++]!;
      next = t & 3;
      if (state !== 4) {
        dist = 1 + (t >> 2) + (b << 2);
        len = 2;
      } else {
        dist = 1 + M2_MAX_OFFSET + (t >> 2) + (b << 2);
        len = 3;
      }
    } else if (t >= 64) {
      if (ip >= end) throw lzoError('input overrun in an M2 match', ip, start, end, op, outStart);
      b = src[ip++]!;
      next = t & 3;
      dist = 1 + ((t >> 2) & 7) + (b << 3);
      len = (t >> 5) + 1;
    } else if (t >= 32) {
      len = t & 31;
      if (len === 0) {
        let zeros = 0;
        for (;;) {
          if (ip >= end) throw lzoError('input overrun in a run length', ip, start, end, op, outStart);
          b = src[ip++]!;
          if (b !== 0) break;
          zeros++;
        }
        len = 31 + zeros * 255 + b;
      }
      len += 2;
      if (end - ip < 2) throw lzoError('input overrun in an M3 match', ip, start, end, op, outStart);
      b = src[ip]! | (src[ip + 1]! << 8);
      ip += 2;
      next = b & 3;
      dist = 1 + (b >> 2);
    } else {
      if (end - ip < 2) throw lzoError('input overrun in an M4 match', ip, start, end, op, outStart);
      b = src[ip]! | (src[ip + 1]! << 8);
      if (version !== 0 && (b & 0xfffc) === 0xfffc && (t & 0xf8) === 0x18) {
        // LZO-RLE zero run: length from t's low bits and one more byte.
        if (end - ip < 3) throw lzoError('input overrun in a zero run', ip, start, end, op, outStart);
        len = ((t & 7) | (src[ip + 2]! << 3)) + MIN_ZERO_RUN_LENGTH;
        if (outEnd - op < len) throw lzoError(`output overrun: zero run of ${len}, room for ${outEnd - op}`, ip, start, end, op, outStart);
        dst.fill(0, op, op + len);
        op += len;
        next = b & 3;
        ip += 3;
        state = next;
        if (next !== 0) {
          if (end - ip < next) throw lzoError(`input overrun: ${next} literals, ${end - ip} bytes left`, ip, start, end, op, outStart);
          if (outEnd - op < next) throw lzoError(`output overrun: ${next} literals, room for ${outEnd - op}`, ip, start, end, op, outStart);
          for (let i = 0; i < next; i++) dst[op++] = src[ip++]!;
        }
        continue;
      }
      len = t & 7;
      if (len === 0) {
        let zeros = 0;
        for (;;) {
          if (ip >= end) throw lzoError('input overrun in a run length', ip, start, end, op, outStart);
          b = src[ip++]!;
          if (b !== 0) break;
          zeros++;
        }
        len = 7 + zeros * 255 + b;
        if (end - ip < 2) throw lzoError('input overrun in an M4 match', ip, start, end, op, outStart);
        b = src[ip]! | (src[ip + 1]! << 8);
      }
      len += 2;
      ip += 2;
      next = b & 3;
      dist = ((t & 8) << 11) + (b >> 2);
      if (dist === 0) {
        if (len !== 3) throw lzoError(`bad end-of-stream marker (length ${len})`, ip, start, end, op, outStart);
        if (ip !== end) throw lzoError(`${end - ip} bytes after the end-of-stream marker`, ip, start, end, op, outStart);
        return op - outStart;
      }
      dist += M4_BASE;
    }

    // Copy the match.
    if (dist > op - outStart) {
      throw lzoError(`lookbehind overrun: distance ${dist}, only ${op - outStart} bytes decoded`, ip, start, end, op, outStart);
    }
    if (outEnd - op < len) throw lzoError(`output overrun: match of ${len}, room for ${outEnd - op}`, ip, start, end, op, outStart);
    let from = op - dist;
    if (len >= 32 && dist >= len) {
      dst.copyWithin(op, from, from + len);
      op += len;
    } else {
      // Overlapping copies (dist < len) are how LZ77 repeats short patterns: they must go byte by
      // byte, each byte possibly one this copy just wrote.
      const stop = op + len;
      while (op < stop) dst[op++] = dst[from++]!;
    }

    // Then 0..3 literals, whose count is the state for the next opcode.
    state = next;
    if (next !== 0) {
      if (end - ip < next) throw lzoError(`input overrun: ${next} literals, ${end - ip} bytes left`, ip, start, end, op, outStart);
      if (outEnd - op < next) throw lzoError(`output overrun: ${next} literals, room for ${outEnd - op}`, ip, start, end, op, outStart);
      for (let i = 0; i < next; i++) dst[op++] = src[ip++]!;
    }
  }
}
