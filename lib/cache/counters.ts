// Work counters of the read path. Names are the report's (snake_case), so the emulator's JSON and
// the library's statistics are the same object.

export interface ReadCounters {
  /** Separate reads issued to devices, and their bytes. */
  disk_reads: number;
  disk_bytes: number;
  /** Data sectors whose checksum was computed and compared. */
  csum_sectors_verified: number;
  /** Compressed extents (or inline extents) decompressed, bytes in and out. */
  decompressions: number;
  decompressed_bytes_in: number;
  decompressed_bytes_out: number;
  cache_hits: number;
  cache_misses: number;
}

export function newReadCounters(): ReadCounters {
  return {
    disk_reads: 0, disk_bytes: 0, csum_sectors_verified: 0, decompressions: 0,
    decompressed_bytes_in: 0, decompressed_bytes_out: 0, cache_hits: 0, cache_misses: 0,
  };
}
