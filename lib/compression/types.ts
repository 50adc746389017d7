import { CorruptError, UsageError } from '../errors.js';

/** BTRFS_COMPRESS_* as stored in btrfs_file_extent_item.compression. */
export const COMPRESSION = { none: 0, zlib: 1, lzo: 2, zstd: 3 } as const;

export type CompressionName = 'zlib' | 'lzo' | 'zstd';

/** BTRFS_MAX_UNCOMPRESSED: the kernel compresses in chunks of at most 128 KiB, so ram_bytes of a
 *  compressed extent never exceeds it. */
export const MAX_UNCOMPRESSED = 128 * 1024;
/** BTRFS_MAX_COMPRESSED: the on-disk size of a compressed extent is bounded the same way. */
export const MAX_COMPRESSED = 128 * 1024;

/**
 * Decompression of one extent. Synchronous, so the read path can call it without awaiting.
 *
 * Both methods return a new array of EXACTLY outputLength bytes and never decode much more than
 * that (at most one stream block of slack internally). Any malformed input is a CorruptError; no
 * RangeError, TypeError or WASM abort escapes.
 */
export interface Decompressor {
  readonly type: number;
  readonly name: CompressionName;
  readonly sectorSize: number;
  /**
   * A regular (on-disk) compressed extent.
   * @param input the whole on-disk extent: disk_num_bytes bytes read at disk_bytenr (LZO checks its
   *   length header against this size, as the kernel does).
   * @param outputLength ram_bytes, or fewer to decode only a prefix (the kernel also stops once the
   *   pages it was asked for are filled; the rest of the stream is then not examined).
   * If the stream ends cleanly before outputLength, the rest is zero-filled (the kernel's
   * zero_fill_bio after a successful decompression).
   * @param into where to decode (at least outputLength bytes; its start is returned): a streaming
   *   reader reuses one buffer instead of allocating and zeroing 128 KiB per extent.
   */
  decompress(input: Uint8Array, outputLength: number, into?: Uint8Array): Uint8Array;
  /**
   * A compressed inline extent: input is the item's inline data, outputLength its ram_bytes
   * (at most sectorSize). Unlike regular extents, a stream that ends short of outputLength is an
   * error here, because the kernel's inline path (btrfs_decompress) returns -EIO for it.
   */
  decompressInline(input: Uint8Array, outputLength: number): Uint8Array;
}

/**
 * Validates the arguments every decompressor shares; returns the zero-filled output buffer (the
 * start of `into` when the caller gives one).
 */
export function allocOutput(what: string, input: Uint8Array, outputLength: number, max: number, maxWhat: string, into?: Uint8Array): Uint8Array {
  if (!(input instanceof Uint8Array)) throw new UsageError(`${what}: input must be a Uint8Array`);
  if (!Number.isSafeInteger(outputLength) || outputLength < 0) {
    throw new UsageError(`${what}: outputLength must be a non-negative integer, got ${outputLength}`);
  }
  // The length comes from the image (ram_bytes); refusing it here is what keeps a hostile extent
  // from making us allocate petabytes.
  if (outputLength > max) throw new CorruptError(`${what}: ram_bytes ${outputLength} exceeds ${maxWhat} ${max}`);
  if (!into) return new Uint8Array(outputLength);
  if (into.length < outputLength) throw new UsageError(`${what}: output buffer of ${into.length} bytes is shorter than ${outputLength}`);
  return into.subarray(0, outputLength).fill(0);
}

export function le32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
