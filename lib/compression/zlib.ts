import {
  ZStream,
  Z_BUF_ERROR,
  Z_FINISH,
  Z_NO_FLUSH,
  Z_OK,
  Z_STREAM_END,
  zlibInflate,
  zlibInflateInit2,
  zlibInflateReset2,
} from 'pako';
import { CorruptError } from '../errors.js';
import { COMPRESSION, MAX_UNCOMPRESSED, allocOutput, type Decompressor } from './types.js';

// Btrfs writes a zlib-wrapped deflate stream (2-byte header, deflate, adler32). The kernel
// (fs/btrfs/zlib.c) checks the header itself, then inflates RAW deflate with the header's window
// size, so the adler32 trailer is never verified; a wrong adler32 reads fine on Linux and here.
//
// pako's low-level API lets inflate write straight into the caller-sized output array: decoding
// stops when that array is full, which bounds both memory and work by outputLength no matter what
// the stream claims.

const Z_DEFLATED = 8;
const PRESET_DICT = 0x20;

/** The raw-deflate window bits for a Btrfs zlib stream, or a CorruptError saying why there are none. */
function windowBits(input: Uint8Array): number {
  if (input.length <= 2) throw new CorruptError(`zlib: stream of ${input.length} bytes is too short for a header`);
  const cmf = input[0]!;
  const flg = input[1]!;
  if ((cmf & 0x0f) !== Z_DEFLATED || ((cmf << 8) + flg) % 31 !== 0) {
    throw new CorruptError(`zlib: bad stream header ${hex2(cmf, flg)}`);
  }
  if (flg & PRESET_DICT) throw new CorruptError(`zlib: stream header ${hex2(cmf, flg)} asks for a preset dictionary`);
  const bits = (cmf >> 4) + 8;
  if (bits > 15) throw new CorruptError(`zlib: stream header ${hex2(cmf, flg)} declares a ${1 << bits}-byte window`);
  return bits;
}

function hex2(a: number, b: number): string {
  return `0x${a.toString(16).padStart(2, '0')}${b.toString(16).padStart(2, '0')}`;
}

/**
 * Inflate `input` (a Btrfs zlib stream) into `out` with the given flush mode, reusing `strm`:
 * a fresh inflate state per extent costs about a third of the throughput (window and table setup).
 */
function inflateInto(
  strm: ZStream,
  input: Uint8Array,
  out: Uint8Array,
  flush: typeof Z_NO_FLUSH | typeof Z_FINISH,
): number {
  const bits = windowBits(input);
  let status = zlibInflateReset2(strm, -bits);
  if (status !== Z_OK) throw new CorruptError(`zlib: cannot start inflate (${strm.msg || status})`);
  strm.input = input;
  strm.next_in = 2;
  strm.avail_in = input.length - 2;
  strm.output = out as Uint8Array<ArrayBuffer>;
  strm.next_out = 0;
  strm.avail_out = out.length;
  strm.msg = '';
  try {
    status = zlibInflate(strm, flush);
  } catch (e) {
    // pako is a faithful zlib port and should not throw on bad data; if it ever does, the cause is
    // still this stream.
    throw new CorruptError(`zlib: inflate failed at input offset ${strm.next_in}: ${(e as Error).message}`);
  } finally {
    // Do not keep the caller's buffers alive through the shared stream.
    strm.input = EMPTY;
    strm.output = EMPTY;
  }
  return status;
}

const EMPTY = new Uint8Array(0);

function failure(strm: ZStream, status: number, produced: number, outputLength: number): CorruptError {
  if (status === Z_OK || status === Z_BUF_ERROR) {
    return new CorruptError(
      `zlib: stream truncated: input ended at offset ${strm.next_in} before the end of the deflate stream ` +
        `(${produced} of ${outputLength} bytes produced)`,
    );
  }
  return new CorruptError(`zlib: ${strm.msg || `inflate error ${status}`} at input offset ${strm.next_in}`);
}

export function createZlib(sectorSize: number): Decompressor {
  // Decompression is synchronous, so one inflate stream per decompressor is never shared by two
  // calls at once.
  const strm = new ZStream();
  if (zlibInflateInit2(strm, -15) !== Z_OK) throw new CorruptError('zlib: cannot initialise inflate');
  return {
    type: COMPRESSION.zlib,
    name: 'zlib',
    sectorSize,
    decompress(input: Uint8Array, outputLength: number, into?: Uint8Array): Uint8Array {
      const out = allocOutput('zlib', input, outputLength, MAX_UNCOMPRESSED, 'the compressed-extent maximum', into);
      if (outputLength === 0) return out;
      const status = inflateInto(strm, input, out, Z_NO_FLUSH);
      // Stream end: whatever is left of `out` stays zero, as the kernel zero-fills the bio.
      // Output full: done, the rest of the stream is not looked at (the kernel stops there too).
      if (status === Z_STREAM_END || strm.avail_out === 0) return out;
      throw failure(strm, status, strm.next_out, outputLength);
    },
    decompressInline(input: Uint8Array, outputLength: number): Uint8Array {
      allocOutput('zlib inline', input, outputLength, sectorSize, 'sectorsize');
      // The kernel inflates inline data with Z_FINISH into one page and needs the stream to end
      // there; a sector-sized buffer is the portable form of that bound.
      const buf = new Uint8Array(sectorSize);
      const status = inflateInto(strm, input, buf, Z_FINISH);
      if (status !== Z_STREAM_END) {
        if (strm.avail_out === 0 && strm.avail_in > 0) {
          throw new CorruptError(`zlib: inline extent inflates past sectorsize ${sectorSize}`);
        }
        throw failure(strm, status, strm.next_out, outputLength);
      }
      if (strm.next_out < outputLength) {
        throw new CorruptError(`zlib: inline extent decompressed to ${strm.next_out} bytes, ram_bytes is ${outputLength}`);
      }
      return buf.slice(0, outputLength);
    },
  };
}
