// Work counters of the emulated kernel's read path and its page cache. Names are the report's
// (snake_case) and the extent layer's below it (lib/extents), which counts the disk reads, checksums
// and decompressions into the same object: the read path, the cache and the emulator each add to the
// fields they are responsible for.

import type { ExtentCounters } from '../extents/data-extents.js';

/** decompressions also counts compressed inline extents here: the kernel decompresses those too. */
export interface ReadCounters extends ExtentCounters {
  /** Page lookups that found the page resident / that did not (each miss fills from disk or zeros). */
  cache_hits: number;
  cache_misses: number;
  /** Pages held now, and the most ever held at once. */
  pages_resident: number;
  pages_peak: number;
  /** Resident pages holding logical data another resident page also holds (now and at peak). */
  duplicate_pages: number;
  duplicate_pages_peak: number;
  /** Pages reclaimed to stay inside the memory budget. */
  evictions: number;
  /** Misses on pages whose eviction the cache still remembers (the kernel's shadow entries). */
  refaults: number;
  /** Pages promoted to the active list (second access, or a refault inside the working set). */
  activations: number;
  /** Writes that moved a file off a page other files were using through the cache. */
  sharing_breaks: number;
  /** Pages dropped because an operation made them stale or unneeded (truncate, unlink, direct I/O, reflink, drop-caches). */
  invalidations: number;
  /** Dirty pages now (written, not yet on disk). */
  dirty_pages: number;
  /** Pages written to new logical addresses by writeback (fsync, the flusher, direct I/O first flushing). */
  writeback_pages: number;
  /** Write requests to the devices (writeback runs and direct writes), and their bytes. */
  disk_writes: number;
  disk_write_bytes: number;
  /** Direct I/O that went through the page cache instead (unaligned, compressed or inline extents). */
  dio_fallbacks: number;
}

export function newReadCounters(): ReadCounters {
  return {
    disk_reads: 0, disk_bytes: 0, csum_sectors_verified: 0, decompressions: 0,
    decompressed_bytes_in: 0, decompressed_bytes_out: 0, cache_hits: 0, cache_misses: 0,
    pages_resident: 0, pages_peak: 0, duplicate_pages: 0, duplicate_pages_peak: 0,
    evictions: 0, refaults: 0, activations: 0, sharing_breaks: 0, invalidations: 0,
    dirty_pages: 0, writeback_pages: 0, disk_writes: 0, disk_write_bytes: 0, dio_fallbacks: 0,
  };
}

/** Counter names in report order. */
export const COUNTER_NAMES = Object.keys(newReadCounters()) as Array<keyof ReadCounters>;
