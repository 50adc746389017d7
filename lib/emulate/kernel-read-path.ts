// The kernel's buffered read path, page by page, as the emulator models it: file offset -> file
// extent -> logical address -> page cache. A page that is resident costs nothing; a miss reads the
// on-disk bytes (through lib/extents, which verifies every sector and tries other copies) and
// decompresses once, and fills the cache. Only the cache policy and its budget differ between the
// emulated kernels. (The library's own reader, lib/reader, keeps whole extents instead of pages.)
//
// What a miss does is the kernel's buffered read: an uncompressed extent reads the sectors needed
// plus a readahead window (never past the file's end or the file extent's end, never over a page
// already resident); a compressed extent is read and verified whole and decompressed once, and the
// pages it fills are those the kernel fills (add_ra_bio_pages: the rest of this file extent, within
// the file) or, under the logical policy, every page of the extent another file extent could use;
// holes and prealloc are zero pages with no I/O.

import { compressedPageKey, inodeId, inodeIdPageKey, logicalPageKey, type CachePolicy } from '../cache/page-key.js';
import { PageCache } from '../cache/page-cache.js';
import type { ReadCounters } from '../cache/counters.js';
import { UsageError } from '../errors.js';
import { DataExtents, type DataContext, type DataOwner } from '../extents/data-extents.js';
import type { InlineExtent } from '../ondisk/items/file-extent.js';
import type { FileRef } from '../fs/file-ref.js';
import { mappings, type Mapping } from '../fs/file-extents.js';

/** Largest read request of a direct read (the block layer splits larger ones). */
const DIO_CHUNK = 1n << 20n;

/** Bytes of extents that exist only in an emulated overlay (the emulator's writes; never on the image). */
export interface ExtentStore {
  /** Bytes [logical, logical + length), or undefined when the overlay keeps no data (counting only). */
  read(logical: bigint, length: number): Buffer | undefined;
}

/** Dirty page range: the bytes are only in the page cache (pinned there until written back). */
export interface DirtyMapping {
  kind: 'dirty';
  fileOffset: bigint;
  length: bigint;
}

/** What an emulated file's own mapping source may yield: image mappings, emulated extents, dirty pages. */
export type ReadMapping = (Mapping & { store?: ExtentStore }) | DirtyMapping;

export interface EmulatedFile extends FileRef {
  /**
   * Where the file's bytes are, covering [from, to) exactly (holes included). Default: the image's
   * EXTENT_DATA items. The emulator supplies its overlay here so written, reflinked and snapshotted
   * files read through this same code.
   */
  mappings?: (from: bigint, to: bigint) => Iterable<ReadMapping> | AsyncIterable<ReadMapping>;
}

export interface KernelReadPathOptions {
  policy?: CachePolicy;
  cache?: PageCache;
  /** Readahead window for uncompressed extents, in bytes (default 128 KiB, as the kernel's default). */
  readaheadBytes?: number;
  /**
   * Keep page bytes in the cache (default). Without, the cache only accounts: misses still read,
   * verify and decompress, but nothing is kept, and only access() can be used.
   */
  keepData?: boolean;
}

export interface KernelDataContext extends DataContext {
  /**
   * Can file extents other than this one use other parts of this compressed extent (extent refs > 1)?
   * Decides, under the logical policy, whether a miss caches the whole decompressed extent or only the
   * part this file extent references. Default: yes (cache it whole).
   */
  extentShared?: (diskBytenr: bigint, diskNumBytes: bigint) => boolean | Promise<boolean>;
}

/** The key a page of a file has under a policy, and the logical data it holds. */
export interface PageName {
  key: string;
  /** Logical identity (logical or compressed page key), undefined for holes, inline and dirty pages. */
  identity: string | undefined;
  /** Keyed by inode (always so for holes, inline and dirty data; for everything under per-inode). */
  perInode: boolean;
}

/** One read in progress: what run() hands to runMapping() for each mapping. */
interface Request {
  file: EmulatedFile;
  position: bigint;
  end: bigint;
  endPage: bigint;
  out: Buffer | undefined;
  /** The inode's id in page keys. */
  user: string;
  /** The first page no mapping has handled yet. */
  next: bigint;
}

export class KernelReadPath {
  readonly policy: CachePolicy;
  readonly cache: PageCache;
  readonly counters: ReadCounters;
  readonly keepData: boolean;
  readonly sectorsize: number;
  private readonly extents: DataExtents;
  private readonly S: number;
  private readonly SB: bigint;
  private readonly readaheadPages: number;

  constructor(readonly ctx: KernelDataContext, options: KernelReadPathOptions = {}) {
    this.policy = options.policy ?? 'logical';
    this.cache = options.cache ?? new PageCache();
    // Cache, read path and the extent layer below count into one object.
    this.counters = this.cache.counters;
    this.extents = new DataExtents(ctx, this.counters);
    this.keepData = options.keepData ?? true;
    this.S = ctx.sectorsize;
    this.SB = BigInt(ctx.sectorsize);
    this.sectorsize = ctx.sectorsize;
    this.readaheadPages = Math.max(1, Math.floor((options.readaheadBytes ?? 128 * 1024) / this.S));
  }

  /** Read up to `length` bytes at `position`; shorter only at end of file. */
  async read(file: EmulatedFile, position: bigint, length: number): Promise<Buffer> {
    if (!this.keepData) throw new UsageError('this read path keeps no page data; use access()');
    const out = Buffer.alloc(this.span(file, position, length));
    await this.run(file, position, out.length, out);
    return out;
  }

  /**
   * Like read(), into the caller's buffer (reused across calls by streaming readers): returns how many
   * bytes were read, fewer than out.length only at end of file. Every byte up to that is written.
   */
  async readInto(file: EmulatedFile, position: bigint, out: Buffer): Promise<number> {
    if (!this.keepData) throw new UsageError('this read path keeps no page data; use access()');
    const n = this.span(file, position, out.length);
    await this.run(file, position, n, out.subarray(0, n));
    return n;
  }

  /** The work of read() without returning bytes (for a cache that only accounts). */
  async access(file: EmulatedFile, position: bigint, length: number): Promise<void> {
    await this.run(file, position, this.span(file, position, length), undefined);
  }

  /** Page `p` of a file through the cache: its bytes (undefined when no data is kept or past EOF). */
  async readPage(file: EmulatedFile, p: bigint): Promise<Buffer | undefined> {
    const S = this.SB;
    if (p * S >= file.size) return undefined;
    for await (const m of this.mappingsOf(file, p * S, (p + 1n) * S)) {
      if (m.fileOffset > p * S) continue;
      return this.page(file, m, p);
    }
    return undefined;
  }

  /**
   * O_DIRECT read: uncompressed extents are read from disk (every checksum verified) without the
   * page cache; holes and prealloc are zeros; compressed and inline extents, dirty pages and any
   * range not aligned to the sector size go through the page cache instead, as the kernel falls back
   * to buffered I/O for them. Returns the bytes (undefined when no data is kept).
   */
  async readDirect(file: EmulatedFile, position: bigint, length: number): Promise<Buffer | undefined> {
    const n = this.span(file, position, length);
    const S = this.SB;
    const out = this.keepData ? Buffer.alloc(n) : undefined;
    if (position % S !== 0n || BigInt(length) % S !== 0n) {
      this.counters.dio_fallbacks++;
      await this.run(file, position, n, out);
      return out;
    }
    if (n === 0) return out;
    const end = position + BigInt(n);
    for await (const m of this.mappingsOf(file, position, ((end + S - 1n) / S) * S)) {
      const from = m.fileOffset;
      const to = m.fileOffset + m.length < end ? m.fileOffset + m.length : end;
      if (to <= from || m.kind === 'hole' || m.kind === 'prealloc') continue;
      if (m.kind === 'regular' && m.extent.compression === 0) {
        // One request per megabyte at most, as the block layer splits a large direct I/O.
        for (let at = from; at < to; at += DIO_CHUNK) {
          const stop = at + DIO_CHUNK < to ? at + DIO_CHUNK : to;
          const sectorsEnd = ((stop + S - 1n) / S) * S;
          const logical = m.extent.diskBytenr + m.extent.offset + (at - m.where.itemOffset);
          const bytes = await this.readExtent(file, logical, Number(sectorsEnd - at), at, m.store);
          if (out && bytes) bytes.copy(out, Number(at - position), 0, Number(stop - at));
        }
        continue;
      }
      this.counters.dio_fallbacks++;
      await this.run(file, from, Number(to - from), out?.subarray(Number(from - position), Number(to - position)));
    }
    return out;
  }

  /** The key and identity page `p` of `file` has when it is in mapping `m`. */
  nameOf(file: EmulatedFile, m: ReadMapping, p: bigint): PageName {
    const inode = inodeId(file.subvol, file.ino);
    if (m.kind !== 'regular') return { key: inodeIdPageKey(inode, p), identity: undefined, perInode: true };
    const e = m.extent;
    const inExtent = e.offset + p * this.SB - m.where.itemOffset;
    const identity = e.compression !== 0 ? compressedPageKey(e.diskBytenr, inExtent / this.SB) : logicalPageKey(e.diskBytenr + inExtent);
    return this.policy === 'logical'
      ? { key: identity, identity, perInode: false }
      : { key: inodeIdPageKey(inode, p), identity, perInode: true };
  }

  /** The mapping holding page `p` (its first byte). */
  async mappingAt(file: EmulatedFile, p: bigint): Promise<ReadMapping> {
    const S = this.SB;
    for await (const m of this.mappingsOf(file, p * S, (p + 1n) * S)) {
      if (m.fileOffset <= p * S) return m;
    }
    throw new Error(`internal: no mapping for page ${p} of ${file.path}`);
  }

  mappingsOf(file: EmulatedFile, from: bigint, to: bigint): Iterable<ReadMapping> | AsyncIterable<ReadMapping> {
    return file.mappings ? file.mappings(from, to) : mappings(file.tree, file.ino, this.S, from, to);
  }

  private span(file: EmulatedFile, position: bigint, length: number): number {
    if (position < 0n || length < 0 || !Number.isSafeInteger(length)) throw new UsageError(`invalid read range ${position}+${length}`);
    if (position >= file.size || length === 0) return 0;
    return position + BigInt(length) < file.size ? length : Number(file.size - position);
  }

  private async run(file: EmulatedFile, position: bigint, n: number, out: Buffer | undefined): Promise<void> {
    if (n === 0) return;
    const end = position + BigInt(n);
    const S = this.SB;
    const firstPage = position / S;
    const endPage = (end + S - 1n) / S;
    const request: Request = { file, position, end, endPage, out, next: firstPage, user: inodeId(file.subvol, file.ino) };
    const all = this.mappingsOf(file, firstPage * S, endPage * S);
    // An array (the usual case, from cached tree blocks) is walked without an async iteration.
    if (Array.isArray(all)) for (const m of all) await this.runMapping(request, m);
    else for await (const m of all) await this.runMapping(request, m);
  }

  /** The pages of one mapping that the request covers. */
  private async runMapping(r: Request, m: ReadMapping): Promise<void> {
    const { file, position, end, out } = r;
    const S = this.SB;
    // Pages [from, stop) are this mapping's: a page belongs to the mapping that holds its first
    // byte (an inline page covers its tail too).
    const mFirst = (m.fileOffset + S - 1n) / S;
    const mStop = (m.fileOffset + m.length + S - 1n) / S;
    const from = r.next > mFirst ? r.next : mFirst;
    const stop = mStop < r.endPage ? mStop : r.endPage;
    if (from >= stop) return;
    r.next = stop;
    // Page indices as numbers (exact: a file ends below 2^64 bytes, 2^52 pages): a cache hit then
    // costs no bigint arithmetic.
    const user = r.user;
    const keyOf = this.keyFunction(m, user, stop);
    for (let q = Number(from), last = Number(stop); q < last; q++) {
      const key = keyOf(q);
      const hit = this.cache.lookup(key, user, q);
      let page: Buffer | undefined;
      if (hit) {
        this.counters.cache_hits++;
        page = hit.data;
      } else page = await this.miss(file, m, BigInt(q), user, key);
      if (out && page) {
        const pageStart = BigInt(q) * S;
        const from = pageStart > position ? pageStart : position;
        const to = pageStart + S < end ? pageStart + S : end;
        page.copy(out, Number(from - position), Number(from - pageStart), Number(to - pageStart));
      }
    }
  }

  /**
   * Page key under this policy for every page of mapping `m` below page `stop` (what nameOf() gives,
   * without the rest). The same strings as page-key.ts makes, built with number arithmetic where
   * that is exact (a number below 2^53 prints as the bigint does), as this runs for every page read.
   */
  private keyFunction(m: ReadMapping, user: string, stop: bigint): (p: number) => string {
    if (m.kind !== 'regular' || this.policy !== 'logical') {
      const prefix = inodeIdPageKey(user, '');
      return (p) => prefix + p;
    }
    const e = m.extent;
    const S = this.SB;
    const base = e.offset - m.where.itemOffset;
    if (e.compression !== 0) {
      if (base % S !== 0n || base < 0n) return (p) => compressedPageKey(e.diskBytenr, (base + BigInt(p) * S) / S);
      const prefix = compressedPageKey(e.diskBytenr, '');
      const first = Number(base / S);
      return (p) => prefix + (first + p);
    }
    const logical = e.diskBytenr + base;
    if (logical < 0n || logical + stop * S > BigInt(Number.MAX_SAFE_INTEGER)) return (p) => logicalPageKey(logical + BigInt(p) * S);
    const at = Number(logical);
    const size = this.S;
    return (p) => logicalPageKey(at + p * size);
  }

  private async page(file: EmulatedFile, m: ReadMapping, p: bigint): Promise<Buffer | undefined> {
    const user = inodeId(file.subvol, file.ino);
    const key = this.keyFunction(m, user, p + 1n)(Number(p));
    const hit = this.cache.lookup(key, user, Number(p));
    if (hit) {
      this.counters.cache_hits++;
      return hit.data;
    }
    return this.miss(file, m, p, user, key);
  }

  private async miss(file: EmulatedFile, m: ReadMapping, p: bigint, user: string, key: string): Promise<Buffer | undefined> {
    if (m.kind === 'dirty') {
      // Written back meanwhile (the flusher ran during this read): read it where it is now.
      const now = await this.mappingAt(file, p);
      if (now.kind === 'dirty') throw new Error(`internal: dirty page ${p} of ${file.path} is not resident`);
      return this.page(file, now, p);
    }
    this.counters.cache_misses++;
    const perInode = { owner: user, index: Number(p), perInode: true };
    if (m.kind === 'hole' || m.kind === 'prealloc') {
      // Zeros with no I/O: nothing to share, so always per-inode.
      const zero = this.keepData ? Buffer.alloc(this.S) : undefined;
      this.cache.insert(key, zero, { accessed: true, ...perInode });
      return zero;
    }
    if (m.kind === 'inline') {
      let page: Buffer | undefined;
      const bytes = await this.inlineBytes(m.extent, file, m);
      if (this.keepData) {
        page = Buffer.alloc(this.S);
        const from = Number(p) * this.S;
        if (from < bytes.length) bytes.copy(page, 0, from, Math.min(bytes.length, from + this.S));
      }
      this.cache.insert(key, page, { accessed: true, ...perInode });
      return page;
    }
    return m.extent.compression !== 0 ? this.fillCompressed(file, m, p, user) : this.fillRegular(file, m, p, user);
  }

  /** Miss on an uncompressed extent: read this page and the readahead window after it. */
  private async fillRegular(file: EmulatedFile, m: Mapping & { kind: 'regular' | 'prealloc'; store?: ExtentStore }, p: bigint, user: string): Promise<Buffer | undefined> {
    const S = this.SB;
    const e = m.extent;
    const itemStart = m.where.itemOffset;
    const itemEndPage = (itemStart + e.numBytes + S - 1n) / S;
    const fileEndPage = (file.size + S - 1n) / S;
    // Logical address of file offset 0 in this file extent's frame.
    const base = e.diskBytenr + e.offset - itemStart;
    const logical = this.policy === 'logical';
    const keyOf = (q: bigint) => (logical ? logicalPageKey(base + q * S) : inodeIdPageKey(user, q));
    const limit = p + BigInt(this.readaheadPages);
    let q = p + 1n;
    while (q < limit && q < itemEndPage && q < fileEndPage && !this.cache.has(keyOf(q))) q++;
    const count = Number(q - p);
    const bytes = await this.readExtent(file, base + p * S, count * this.S, p * S, m.store);
    let first: Buffer | undefined;
    for (let i = 0; i < count; i++) {
      const at = p + BigInt(i);
      const data = bytes && this.keepData ? Buffer.from(bytes.subarray(i * this.S, (i + 1) * this.S)) : undefined;
      if (i === 0) first = data;
      this.cache.insert(keyOf(at), data, {
        identity: logicalPageKey(base + at * S), owner: user, index: Number(at), accessed: i === 0, perInode: !logical,
      });
    }
    return first;
  }

  /** Miss on a compressed extent: read and verify the whole extent, decompress it once. */
  private async fillCompressed(file: EmulatedFile, m: Mapping & { kind: 'regular' | 'prealloc'; store?: ExtentStore }, p: bigint, user: string): Promise<Buffer | undefined> {
    const S = this.SB;
    const e = m.extent;
    const itemStart = m.where.itemOffset;
    const owner = this.owner(file, itemStart);
    const stored = m.store ? await this.readExtent(file, e.diskBytenr, Number(e.diskNumBytes), itemStart, m.store) : await this.extents.readStored(e, owner);
    const ram = Number(e.ramBytes);
    let data: Buffer | undefined;
    if (stored) {
      await this.extents.prepare(e.compression);
      data = this.extents.decompressLoaded(e.compression, stored, ram, owner, e.diskBytenr);
    }
    const pages = Math.ceil(ram / this.S);
    const pageOf = (idx: number): Buffer | undefined => {
      if (!data || !this.keepData) return undefined;
      const page = Buffer.alloc(this.S);
      data.copy(page, 0, idx * this.S, Math.min(ram, (idx + 1) * this.S));
      return page;
    };
    const idxOf = (f: bigint) => Number((e.offset + f * S - itemStart) / S);
    const itemEndPage = (itemStart + e.numBytes + S - 1n) / S;
    const fileEndPage = (file.size + S - 1n) / S;
    const endPage = itemEndPage < fileEndPage ? itemEndPage : fileEndPage;
    const wanted = idxOf(p);
    const result = pageOf(wanted);
    // The kernel adds the following pages of this file extent, within the file, to the read; it
    // gives up after more than 4 sectors that are already cached (add_ra_bio_pages).
    const logical = this.policy === 'logical';
    const keyOf = (f: bigint) => (logical ? compressedPageKey(e.diskBytenr, idxOf(f)) : inodeIdPageKey(user, f));
    const ident = (f: bigint) => compressedPageKey(e.diskBytenr, idxOf(f));
    this.cache.insert(keyOf(p), result, { identity: ident(p), owner: user, index: Number(p), accessed: true, perInode: !logical });
    let missed = 0;
    for (let f = p + 1n; f < endPage; f++) {
      const key = keyOf(f);
      if (this.cache.has(key)) {
        if (++missed > 4) break;
        continue;
      }
      this.cache.insert(key, pageOf(idxOf(f)), { identity: ident(f), owner: user, index: Number(f), accessed: false, perInode: !logical });
    }
    // Under the logical policy the rest of a multiply referenced extent is kept too: other file
    // extents may use it, and it is decompressed now. It belongs to no inode until one reads it.
    if (logical && (this.ctx.extentShared ? await this.ctx.extentShared(e.diskBytenr, e.diskNumBytes) : true)) {
      const lo = idxOf(p);
      const hi = idxOf(endPage - 1n);
      for (let idx = 0; idx < pages; idx++) {
        const key = compressedPageKey(e.diskBytenr, idx);
        if ((idx >= lo && idx <= hi) || this.cache.has(key)) continue;
        this.cache.insert(key, pageOf(idx), { identity: key, accessed: false });
      }
    }
    return result;
  }

  private async inlineBytes(e: InlineExtent, file: EmulatedFile, m: Mapping): Promise<Buffer> {
    const bytes = await this.extents.inlineBytes(e, { path: file.path, fileOffset: m.where?.itemOffset ?? 0n });
    if (e.compression !== 0) {
      // The kernel decompresses an inline extent when it reads page 0: it counts as any other.
      this.counters.decompressions++;
      this.counters.decompressed_bytes_in += e.data.length;
      this.counters.decompressed_bytes_out += Number(e.ramBytes);
    }
    return bytes;
  }

  /** On-disk bytes of an extent range: from the image (verified) or from an emulated overlay's store. */
  private async readExtent(file: EmulatedFile, logical: bigint, length: number, fileOffset: bigint, store: ExtentStore | undefined): Promise<Buffer | undefined> {
    if (!store) return this.extents.readVerified(logical, length, this.owner(file, fileOffset));
    // Emulated extents were checksummed when written; reading them back costs what the image's do.
    this.counters.disk_reads++;
    this.counters.disk_bytes += length;
    if (!file.nodatasum) this.counters.csum_sectors_verified += length / this.S;
    return store.read(logical, length);
  }

  private owner(file: EmulatedFile, fileOffset: bigint): DataOwner {
    return { path: file.path, fileOffset, nodatasum: file.nodatasum };
  }
}
