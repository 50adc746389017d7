import { UsageError } from '../errors.js';

export type ChecksumName = 'crc32c' | 'xxhash64' | 'sha256' | 'blake2b';

/** BTRFS_CSUM_TYPE_* as stored in the superblock's csum_type. */
export const CSUM_TYPES = { crc32c: 0, xxhash64: 1, sha256: 2, blake2b: 3 } as const;

/** Every checksum field on disk (superblock, tree block header) is this wide, whatever the algorithm. */
export const CSUM_FIELD_SIZE = 32;

export interface Checksummer {
  /** On-disk csum_type. */
  readonly type: number;
  readonly name: ChecksumName;
  /** Significant bytes of the sum: 4, 8, 32, 32. Stored sums are zero-padded to 32 in headers. */
  readonly size: number;
  /** The checksum exactly as Btrfs stores it on disk (size bytes). */
  digest(data: Uint8Array): Uint8Array;
  /** Compare against a stored sum (its first `size` bytes at storedOffset) without allocating when possible. */
  matches(data: Uint8Array, stored: Uint8Array, storedOffset?: number): boolean;
}

export function checkStored(name: string, size: number, stored: Uint8Array, storedOffset: number): void {
  // A short buffer here is a caller bug (item sizes are validated before sums are looked up).
  if (!Number.isInteger(storedOffset) || storedOffset < 0 || storedOffset + size > stored.length) {
    throw new UsageError(
      `${name}: stored checksum needs ${size} bytes at offset ${storedOffset}, buffer has ${stored.length}`,
    );
  }
}
