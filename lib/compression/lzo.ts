import { CorruptError } from '../errors.js';
import { lzo1xDecompress, lzo1xWorstCompress } from './lzo1x.js';
import { COMPRESSION, MAX_COMPRESSED, MAX_UNCOMPRESSED, allocOutput, le32, type Decompressor } from './types.js';

// Btrfs LZO framing (fs/btrfs/lzo.c):
//
//   le32 total length of the compressed data, header included
//   segments: le32 segment length, then an LZO1X stream of one sector (or less) of file data
//
// A segment header never straddles a sector boundary: when fewer than 4 bytes remain in the current
// sector after a segment, the writer pads them with zeros and the next header starts at the next
// sector. "Sector" is the filesystem sectorsize, not 4096 and not the page size. The payload of a
// segment may cross sector boundaries freely.
//
// Regular extents hold any number of segments; an inline extent holds exactly one, with
// total length == item data size and segment length == size - 8.
//
// The checks are the kernel's. Two of its bounds come from its page-sized buffers (the largest
// segment, the largest inline item); here they are stated in sectorsize, which is what a writer can
// produce. Headers or payloads running past the end of the extent, which the kernel would read out
// of bounds, are CorruptErrors.

const LZO_LEN = 4;

export interface LzoSegment {
  /** Offset of the segment's 4-byte length header in the extent. */
  header: number;
  /** Length of the LZO1X payload that follows the header. */
  length: number;
  /** Zero bytes skipped after this segment so the next header does not straddle a sector. */
  padding: number;
}

export interface LzoLayout {
  /** The leading le32: total bytes of compressed data, header included. */
  totalLength: number;
  segments: LzoSegment[];
}

function checkTotal(input: Uint8Array, sectorSize: number): number {
  if (input.length < LZO_LEN) {
    throw new CorruptError(`lzo: extent of ${input.length} bytes is too short for the length header`);
  }
  const total = le32(input, 0);
  // The kernel's own header check: no longer than the extent (or 128 KiB), and no whole unused
  // sectors at the end of the extent.
  const limit = Math.min(MAX_COMPRESSED, input.length);
  if (total > limit) {
    throw new CorruptError(`lzo: length header ${total} exceeds the ${limit}-byte extent`);
  }
  if (Math.ceil(total / sectorSize) * sectorSize < input.length) {
    throw new CorruptError(`lzo: length header ${total} leaves whole sectors of the ${input.length}-byte extent unused`);
  }
  return total;
}

/**
 * Walk the segments of a regular LZO extent the way the kernel does, calling `each` per segment
 * (payload offset and length). `each` returns false to stop early. Returns the layout walked.
 */
function walk(
  input: Uint8Array,
  sectorSize: number,
  each: ((payload: number, length: number, index: number) => boolean) | undefined,
): LzoLayout {
  const total = checkTotal(input, sectorSize);
  const maxSegment = lzo1xWorstCompress(sectorSize);
  const segments: LzoSegment[] = [];
  let cur = LZO_LEN;
  // Each round consumes at least the 4-byte header, so this ends within input.length / 4 rounds.
  while (cur < total) {
    const header = cur;
    if (header + LZO_LEN > input.length) {
      throw new CorruptError(`lzo: segment ${segments.length} header at input offset ${header} runs past the end of the extent`);
    }
    const length = le32(input, header);
    cur += LZO_LEN;
    // The kernel bounds this by its page-sized workspace; the sector bound is what a writer can
    // produce (lzo1x_worst_compress(sectorsize)).
    if (length > maxSegment) {
      throw new CorruptError(
        `lzo: segment ${segments.length} length ${length} exceeds sector bound ${maxSegment} at input offset ${header}`,
      );
    }
    if (cur + length > input.length) {
      throw new CorruptError(
        `lzo: segment ${segments.length} length ${length} at input offset ${header} runs past the ${input.length}-byte extent`,
      );
    }
    const seg: LzoSegment = { header, length, padding: 0 };
    segments.push(seg);
    if (each && !each(cur, length, segments.length - 1)) break;
    cur += length;
    const left = sectorSize - (cur % sectorSize);
    if (left < LZO_LEN) {
      seg.padding = left;
      cur += left;
    }
  }
  return { totalLength: total, segments };
}

/** The segment layout of a regular LZO extent, for inspection (no decompression). */
export function lzoLayout(input: Uint8Array, sectorSize: number): LzoLayout {
  return walk(input, sectorSize, undefined);
}

function segmentError(e: unknown, index: number, header: number): never {
  if (e instanceof CorruptError) {
    throw new CorruptError(`lzo: segment ${index} at input offset ${header}: ${e.message}`);
  }
  throw e;
}

export function createLzo(sectorSize: number): Decompressor {
  const maxSegmentOut = lzo1xWorstCompress(sectorSize);
  // Sync-only use, so one scratch buffer per decompressor is enough.
  const scratch = new Uint8Array(maxSegmentOut);
  return {
    type: COMPRESSION.lzo,
    name: 'lzo',
    sectorSize,
    decompress(input: Uint8Array, outputLength: number, into?: Uint8Array): Uint8Array {
      const out = allocOutput('lzo', input, outputLength, MAX_UNCOMPRESSED, 'the compressed-extent maximum', into);
      if (outputLength === 0) return out;
      let produced = 0;
      walk(input, sectorSize, (payload, length, index) => {
        // The kernel lets one segment produce up to lzo1x_worst_compress(sectorsize) bytes (its
        // output buffer), not just one sector; we accept the same, so both read the same bytes.
        let n: number;
        try {
          if (outputLength - produced >= maxSegmentOut) {
            n = lzo1xDecompress(input, payload, payload + length, out, produced, produced + maxSegmentOut);
          } else {
            // Near the end: decode the whole segment aside (so errors in its tail are still seen,
            // as the kernel sees them), then keep what fits.
            n = lzo1xDecompress(input, payload, payload + length, scratch, 0, maxSegmentOut);
            out.set(scratch.subarray(0, Math.min(n, outputLength - produced)), produced);
          }
        } catch (e) {
          segmentError(e, index, payload - LZO_LEN);
        }
        produced += n;
        return produced < outputLength;
      });
      // Segments ran out first: the rest stays zero, like the kernel's zero_fill_bio.
      return out;
    },
    decompressInline(input: Uint8Array, outputLength: number): Uint8Array {
      const out = allocOutput('lzo inline', input, outputLength, sectorSize, 'sectorsize');
      // fs/btrfs/lzo.c lzo_decompress(): exactly one segment filling the item.
      if (input.length < 2 * LZO_LEN || input.length > maxSegmentOut + 2 * LZO_LEN) {
        throw new CorruptError(`lzo: inline extent of ${input.length} bytes cannot hold one segment`);
      }
      const total = le32(input, 0);
      if (total !== input.length) {
        throw new CorruptError(`lzo: inline length header ${total} differs from the inline item size ${input.length}`);
      }
      const length = le32(input, LZO_LEN);
      if (length !== input.length - 2 * LZO_LEN) {
        throw new CorruptError(`lzo: inline segment length ${length}, expected ${input.length - 2 * LZO_LEN}`);
      }
      let n = 0;
      try {
        n = lzo1xDecompress(input, 2 * LZO_LEN, input.length, scratch, 0, sectorSize);
      } catch (e) {
        segmentError(e, 0, LZO_LEN);
      }
      if (n < outputLength) {
        throw new CorruptError(`lzo: inline extent decompressed to ${n} bytes, ram_bytes is ${outputLength}`);
      }
      out.set(scratch.subarray(0, outputLength));
      return out;
    },
  };
}
