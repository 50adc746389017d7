import { CorruptError } from '../errors.js';
import { le32 } from './types.js';

// Structure of a Zstandard frame (RFC 8878 section 3.1.1), walked without decoding it. The WASM
// decoder only ever sees input this walk has checked, which is how a hostile extent is kept from
// asking it for a huge window (its heap is fixed at 16 MiB and it aborts instead of failing) or
// from decoding far more blocks than the caller wants.
//
//   magic 0xFD2FB528 | frame header descriptor | [window descriptor] | [dictionary id] |
//   [frame content size] | blocks (3-byte header: last flag, type, size) | [4-byte checksum]

const MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE = 0x184d2a50;
/** ZSTD_BLOCKSIZE_MAX: no block regenerates more than 128 KiB. */
export const ZSTD_BLOCK_MAX = 128 * 1024;
/** ZSTD_BTRFS_MAX_WINDOWLOG 17: the kernel's decoder refuses frames needing a larger window. */
export const BTRFS_ZSTD_MAX_WINDOW = 1 << 17;

export const BLOCK_RAW = 0;
export const BLOCK_RLE = 1;
export const BLOCK_COMPRESSED = 2;

export interface ZstdFrameHeader {
  /** Bytes from the magic number to the first block header. */
  headerSize: number;
  windowSize: number;
  /** Frame_Content_Size when the frame declares it (Btrfs frames do, but need not). */
  contentSize: number | undefined;
  hasChecksum: boolean;
  /** Block_Maximum_Size: min(window, 128 KiB); no block regenerates more. */
  blockMax: number;
}

export interface ZstdBlock {
  /** Offset just past this block (and past the frame checksum if this is the last block). */
  end: number;
  type: number;
  last: boolean;
  /** Upper bound of the bytes this block regenerates. */
  maxOutput: number;
}

function need(input: Uint8Array, pos: number, n: number, what: string): void {
  if (pos + n > input.length) {
    throw new CorruptError(`zstd: frame truncated in ${what} at input offset ${pos} (extent is ${input.length} bytes)`);
  }
}

export function parseZstdFrameHeader(input: Uint8Array, maxWindow = BTRFS_ZSTD_MAX_WINDOW): ZstdFrameHeader {
  need(input, 0, 5, 'the frame header');
  const magic = le32(input, 0);
  if (magic !== MAGIC) {
    if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE) {
      throw new CorruptError('zstd: extent starts with a skippable frame, Btrfs writes one zstd frame');
    }
    throw new CorruptError(`zstd: bad frame magic 0x${magic.toString(16).padStart(8, '0')}`);
  }
  const fhd = input[4]!;
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd & 0x20) !== 0;
  const hasChecksum = (fhd & 0x04) !== 0;
  const dictFlag = fhd & 0x03;
  if (fhd & 0x08) throw new CorruptError(`zstd: reserved bit set in frame header descriptor 0x${fhd.toString(16)}`);
  let pos = 5;
  let windowSize = 0;
  if (!singleSegment) {
    need(input, pos, 1, 'the window descriptor');
    const wd = input[pos++]!;
    const base = 2 ** (10 + (wd >> 3));
    windowSize = base + (base / 8) * (wd & 7);
  }
  const dictSize = [0, 1, 2, 4][dictFlag]!;
  need(input, pos, dictSize, 'the dictionary id');
  let dictId = 0;
  for (let i = 0; i < dictSize; i++) dictId += input[pos + i]! * 2 ** (8 * i);
  pos += dictSize;
  // The kernel loads no dictionary, so its decoder fails on any frame that names one.
  if (dictId !== 0) throw new CorruptError(`zstd: frame needs dictionary ${dictId}`);
  const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  need(input, pos, fcsSize, 'the frame content size');
  let contentSize: number | undefined;
  if (fcsSize > 0) {
    contentSize = 0;
    for (let i = 0; i < fcsSize; i++) contentSize += input[pos + i]! * 2 ** (8 * i);
    if (fcsSize === 2) contentSize += 256;
  }
  pos += fcsSize;
  if (singleSegment) windowSize = contentSize!;
  if (windowSize > maxWindow) {
    throw new CorruptError(`zstd: frame needs a ${windowSize}-byte window, Btrfs allows ${maxWindow}`);
  }
  return { headerSize: pos, windowSize, contentSize, hasChecksum, blockMax: Math.min(windowSize, ZSTD_BLOCK_MAX) };
}

/** The block whose header starts at `pos`. */
export function readZstdBlock(input: Uint8Array, pos: number, header: ZstdFrameHeader): ZstdBlock {
  need(input, pos, 3, 'a block header');
  const bh = input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16);
  const last = (bh & 1) !== 0;
  const type = (bh >> 1) & 3;
  const size = bh >>> 3;
  if (type === 3) throw new CorruptError(`zstd: reserved block type at input offset ${pos}`);
  if (type !== BLOCK_COMPRESSED && size > header.blockMax) {
    throw new CorruptError(`zstd: block of ${size} bytes at input offset ${pos} exceeds the ${header.blockMax}-byte block maximum`);
  }
  const payload = type === BLOCK_RLE ? 1 : size;
  need(input, pos + 3, payload, 'a block');
  let end = pos + 3 + payload;
  if (last && header.hasChecksum) {
    need(input, end, 4, 'the content checksum');
    end += 4;
  }
  return { end, type, last, maxOutput: type === BLOCK_COMPRESSED ? header.blockMax : size };
}
