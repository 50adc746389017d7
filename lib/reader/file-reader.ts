// Reading a file's bytes: file offset -> file extent -> logical extent, through the cache keyed by
// logical address. cat, readFile, streams and extract's unshared data read through here.
//
// - Holes and prealloc are zeros, inline data is copied from the leaf: no disk read, no cache.
// - Data no other file can reach (see lib/extents/shareability.ts) is read and verified straight into
//   the caller's buffer, or decompressed once into a scratch buffer and copied: caching it would only
//   fill the cache with bytes nobody else asks for.
// - Shared data goes through the ExtentCache: a compressed extent is decompressed once and kept whole;
//   uncompressed data is kept in windows of verified sectors. The next sharer finds it there.

import { UsageError } from '../errors.js';
import type { DataExtents, DataOwner, ExtentCounters } from '../extents/data-extents.js';
import type { Shareability } from '../extents/shareability.js';
import { mappings, type Mapping } from '../fs/file-extents.js';
import type { FileRef } from '../fs/file-ref.js';
import { MAX_UNCOMPRESSED } from '../compression/types.js';
import { ExtentCache, MAX_CACHED_LOGICAL, WINDOW_BYTES } from './extent-cache.js';

/** What readers did, under the emulator's names where they mean the same. */
export interface ReaderCounters extends ExtentCounters {
  /** Compressed inline extents decompressed (counted apart: they have no logical address). */
  inline_decompressions: number;
  /** Extents or windows served from memory instead of being read again. */
  extents_reused: number;
}

export function newReaderCounters(): ReaderCounters {
  return {
    disk_reads: 0, disk_bytes: 0, csum_sectors_verified: 0, decompressions: 0, decompressed_bytes_in: 0, decompressed_bytes_out: 0,
    inline_decompressions: 0, extents_reused: 0,
  };
}

/** Largest piece of unshared data verified at once (bounds the checksums looked up per read). */
const DIRECT_PIECE = 8 * 1024 * 1024;
/** A misaligned read up to this size is read whole through the scratch buffer, as one request. */
const SCRATCH_BYTES = 256 * 1024;

type RegularMapping = Extract<Mapping, { kind: 'regular' | 'prealloc' }>;

export class FileReader {
  readonly S: number;
  private readonly SB: bigint;
  /** The last unshared compressed extent decompressed (its bytes are in `decoded`). */
  private lastDecoded: bigint | undefined;
  private decoded: Buffer | undefined;
  private decodedLength = 0;
  /** For misaligned pieces of unshared data; taken by one read at a time (others allocate). */
  private scratch: Buffer | undefined;
  private scratchBusy = false;

  constructor(
    readonly extents: DataExtents,
    readonly shareability: Shareability,
    readonly cache: ExtentCache,
    readonly counters: ReaderCounters,
  ) {
    this.S = extents.sectorsize;
    this.SB = BigInt(this.S);
  }

  /**
   * Read into `out` from `position`: returns how many bytes were read, fewer than out.length only at
   * end of file. Every byte up to that is written (`out` may be a reused buffer).
   */
  async read(file: FileRef, position: bigint, out: Buffer): Promise<number> {
    if (position < 0n) throw new UsageError(`invalid read position ${position}`);
    if (position >= file.size || out.length === 0) return 0;
    const n = position + BigInt(out.length) <= file.size ? out.length : Number(file.size - position);
    const all = mappings(file.tree, file.ino, this.S, position, position + BigInt(n));
    // An array (the usual case, from cached tree blocks) is walked without an async iteration.
    if (Array.isArray(all)) for (const m of all) await this.mapping(file, m, position, out);
    else for await (const m of all) await this.mapping(file, m, position, out);
    return n;
  }

  /**
   * A mapping's bytes into its place in `out` (out[0] is file offset `position`). `shared`, when the
   * caller knows it, saves asking the shareability test again.
   */
  async mapping(file: FileRef, m: Mapping, position: bigint, out: Buffer, shared?: boolean): Promise<void> {
    const at = Number(m.fileOffset - position);
    const dst = out.subarray(at, at + Number(m.length));
    if (m.kind === 'hole' || m.kind === 'prealloc') {
      dst.fill(0);
      return;
    }
    if (m.kind === 'inline') {
      const bytes = await this.extents.inlineBytes(m.extent, { path: file.path, fileOffset: 0n });
      if (m.extent.compression !== 0) this.counters.inline_decompressions++;
      copyFrom(bytes, Number(m.fileOffset - m.where.itemOffset), dst);
      return;
    }
    shared ??= await this.shareability.canBeShared(file.subvol, m.extent, m.where.block);
    if (m.extent.compression !== 0) await this.compressed(file, m, shared, dst);
    else await this.uncompressed(file, m, shared, dst);
  }

  private async compressed(file: FileRef, m: RegularMapping, shared: boolean, dst: Buffer): Promise<void> {
    const e = m.extent;
    const from = Number(e.offset + (m.fileOffset - m.where.itemOffset));
    const owner: DataOwner = { path: file.path, fileOffset: m.where.itemOffset, nodatasum: file.nodatasum };
    if (shared && e.diskBytenr < MAX_CACHED_LOGICAL) {
      const logical = Number(e.diskBytenr);
      let data = this.cache.extent(logical);
      if (data) this.counters.extents_reused++;
      else {
        data = await this.extents.readDecompressed(e, owner);
        this.cache.putExtent(logical, data);
      }
      copyFrom(data, from, dst);
      return;
    }
    if (this.lastDecoded !== e.diskBytenr) {
      const stored = await this.extents.readStored(e, owner);
      await this.extents.prepare(e.compression);
      // Decoded into one reused buffer, and copied out before anything awaits: no other read can
      // overwrite it in between.
      this.lastDecoded = undefined;
      this.decoded ??= Buffer.allocUnsafe(MAX_UNCOMPRESSED);
      const data = this.extents.decompressLoaded(e.compression, stored, Number(e.ramBytes), owner, e.diskBytenr, this.decoded);
      this.decodedLength = data.length;
      this.lastDecoded = e.diskBytenr;
    }
    copyFrom(this.decoded!.subarray(0, this.decodedLength), from, dst);
  }

  private async uncompressed(file: FileRef, m: RegularMapping, shared: boolean, dst: Buffer): Promise<void> {
    const e = m.extent;
    const S = this.SB;
    const logical = e.diskBytenr + e.offset + (m.fileOffset - m.where.itemOffset);
    const head = logical % S;
    const lo = logical - head;
    // File extent items cover whole sectors, so the sector holding the last byte is in the extent.
    const hi = ((logical + BigInt(dst.length) + S - 1n) / S) * S;
    const owner: DataOwner = { path: file.path, fileOffset: m.fileOffset - head, nodatasum: file.nodatasum };
    if (shared && hi <= MAX_CACHED_LOGICAL) return this.throughWindows(Number(lo), Number(hi), Number(head), owner, dst);
    const length = hi - lo;
    if (head === 0n && length === BigInt(dst.length)) {
      // Whole sectors: verified in place, in bounded pieces.
      for (let done = 0; done < dst.length; done += DIRECT_PIECE) {
        const n = Math.min(DIRECT_PIECE, dst.length - done);
        await this.extents.readVerified(lo + BigInt(done), n, { ...owner, fileOffset: owner.fileOffset + BigInt(done) }, dst.subarray(done, done + n));
      }
      return;
    }
    if (length <= BigInt(SCRATCH_BYTES)) return this.viaScratch(lo, Number(length), Number(head), owner, dst);
    // A large misaligned piece: the partial sectors at either end through the scratch buffer, the
    // whole ones between in place.
    const h = Number(head);
    const firstWhole = h === 0 ? 0 : this.S - h;
    if (h !== 0) await this.viaScratch(lo, this.S, h, owner, dst.subarray(0, firstWhole));
    const wholeEnd = firstWhole + Math.floor((dst.length - firstWhole) / this.S) * this.S;
    for (let done = firstWhole; done < wholeEnd; done += DIRECT_PIECE) {
      const n = Math.min(DIRECT_PIECE, wholeEnd - done);
      const at = lo + BigInt(h + done);
      await this.extents.readVerified(at, n, { ...owner, fileOffset: owner.fileOffset + BigInt(h + done) }, dst.subarray(done, done + n));
    }
    if (wholeEnd < dst.length) {
      const at = lo + BigInt(h + wholeEnd);
      await this.viaScratch(at, this.S, 0, { ...owner, fileOffset: owner.fileOffset + BigInt(h + wholeEnd) }, dst.subarray(wholeEnd));
    }
  }

  /** Sectors [lo, lo + length) read whole into scratch, then bytes from `skip` on copied to `dst`. */
  private async viaScratch(lo: bigint, length: number, skip: number, owner: DataOwner, dst: Buffer): Promise<void> {
    const own = length <= SCRATCH_BYTES && !this.scratchBusy;
    const buf = own ? (this.scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES)).subarray(0, length) : Buffer.allocUnsafe(length);
    if (own) this.scratchBusy = true;
    try {
      await this.extents.readVerified(lo, length, owner, buf);
      buf.copy(dst, 0, skip, skip + dst.length);
    } finally {
      if (own) this.scratchBusy = false;
    }
  }

  /** Shared uncompressed sectors [lo, hi) through the cache's windows; bytes from lo + skip to `dst`. */
  private async throughWindows(lo: number, hi: number, skip: number, owner: DataOwner, dst: Buffer): Promise<void> {
    const S = this.S;
    const verified = !owner.nodatasum;
    for (let w = lo - (lo % WINDOW_BYTES); w < hi; w += WINDOW_BYTES) {
      const a = Math.max(lo, w);
      const b = Math.min(hi, w + WINDOW_BYTES);
      let win = this.cache.window(w);
      // Bytes read without checksums never stand in for a checksummed file's read.
      if (!win || (verified && !win.verified)) win = this.cache.newWindow(w, S, verified);
      // Each run of sectors the window lacks is read once, into its place.
      let missing = false;
      for (let s = (a - w) / S, end = (b - w) / S; s < end; ) {
        if (win.held[s]) {
          s++;
          continue;
        }
        let t = s + 1;
        while (t < end && !win.held[t]) t++;
        const from = w + s * S;
        await this.extents.readVerified(BigInt(from), (t - s) * S, { ...owner, fileOffset: owner.fileOffset + BigInt(from - lo) }, win.data.subarray(s * S, t * S));
        win.held.fill(1, s, t);
        missing = true;
        s = t;
      }
      if (!missing) this.counters.extents_reused++;
      // This window's part of the caller's range: logical [max(a, lo + skip), min(b, lo + skip + dst.length)).
      const from = Math.max(a, lo + skip);
      const to = Math.min(b, lo + skip + dst.length);
      win.data.copy(dst, from - (lo + skip), from - w, to - w);
    }
  }
}

/** Copy `src` from `from` into all of `dst`; what lies past src's end reads as zeros. */
function copyFrom(src: Buffer, from: number, dst: Buffer): void {
  const copied = from < src.length ? src.copy(dst, 0, from, Math.min(src.length, from + dst.length)) : 0;
  if (copied < dst.length) dst.fill(0, copied);
}
