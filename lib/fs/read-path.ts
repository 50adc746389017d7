// The one read path: file offset -> file extent -> logical address -> page cache. A page that is
// resident costs nothing; a miss reads the on-disk bytes once, verifies every sector's checksum
// (trying other copies for bad sectors), decompresses once, and fills the cache. cat, extract,
// readFile and the emulator all read through here; only the cache policy and its budget differ.

import { compressedPageKey, inodePageKey, logicalPageKey, type CachePolicy } from '../cache/page-key.js';
import { LruPageCache, type PageCache } from '../cache/page-cache.js';
import { newReadCounters, type ReadCounters } from '../cache/counters.js';
import { BtrfsError, ChecksumError, CorruptError, type Location } from '../errors.js';
import type { InlineExtent, RegularExtent } from '../ondisk/items/file-extent.js';
import type { Tree } from '../tree/tree.js';
import type { CsumTree } from './csum-tree.js';
import { mappings, type Mapping } from './file-extents.js';
import type { Volume } from '../volume/volume.js';

/**
 * Decompress `input` to exactly `outputLength` bytes. Regular extents zero-fill a short stream;
 * inline extents (`inline`) must decompress fully, as in the kernel.
 */
export type DecompressFn = (type: number, input: Buffer, outputLength: number, inline: boolean) => Buffer;

export interface FileRef {
  subvol: bigint;
  ino: bigint;
  tree: Tree;
  size: bigint;
  /** Inode has NODATASUM: its data has no checksums to verify. */
  nodatasum: boolean;
  /** For messages. */
  path: string;
}

export interface ReadPathOptions {
  policy?: CachePolicy;
  cache?: PageCache;
  /** Readahead window for uncompressed extents, in bytes (default 128 KiB, as the kernel's default). */
  readaheadBytes?: number;
  counters?: ReadCounters;
}

interface DataContext {
  volume: Volume;
  csums: CsumTree;
  sectorsize: number;
  checksummer: { size: number; matches(data: Uint8Array, stored: Uint8Array, storedOffset?: number): boolean; digest(data: Uint8Array): Uint8Array };
  decompress: DecompressFn;
}

export class ReadPath {
  readonly policy: CachePolicy;
  readonly cache: PageCache;
  readonly counters: ReadCounters;
  private readonly S: number;
  private readonly SB: bigint;
  private readonly readaheadPages: number;

  constructor(private readonly ctx: DataContext, options: ReadPathOptions = {}) {
    this.policy = options.policy ?? 'logical';
    this.cache = options.cache ?? new LruPageCache();
    this.counters = options.counters ?? newReadCounters();
    this.S = ctx.sectorsize;
    this.SB = BigInt(ctx.sectorsize);
    this.readaheadPages = Math.max(1, Math.floor((options.readaheadBytes ?? 128 * 1024) / this.S));
  }

  /** Read up to `length` bytes at `position`; shorter only at end of file. */
  async read(file: FileRef, position: bigint, length: number): Promise<Buffer> {
    if (position < 0n || length < 0) throw new CorruptError('negative read');
    if (position >= file.size || length === 0) return Buffer.alloc(0);
    const end = position + BigInt(length) < file.size ? position + BigInt(length) : file.size;
    const out = Buffer.alloc(Number(end - position));
    const S = this.SB;
    const firstPage = position / S;
    const endPage = (end + S - 1n) / S;
    let next = firstPage;
    for await (const m of mappings(file.tree, file.ino, this.S, firstPage * S, endPage * S)) {
      const mEnd = m.fileOffset + m.length;
      // A page belongs to the mapping that holds its first byte (an inline page covers its tail too).
      for (let p = next; p * S < mEnd && p < endPage; p++) {
        if (p * S < m.fileOffset) continue;
        const page = await this.page(file, m, p);
        const pageStart = p * S;
        const from = pageStart > position ? pageStart : position;
        const to = pageStart + S < end ? pageStart + S : end;
        page.copy(out, Number(from - position), Number(from - pageStart), Number(to - pageStart));
        next = p + 1n;
      }
    }
    return out;
  }

  private lookup(key: string): Buffer | undefined {
    const page = this.cache.get(key);
    if (page) this.counters.cache_hits++;
    else this.counters.cache_misses++;
    return page;
  }

  private async page(file: FileRef, m: Mapping, p: bigint): Promise<Buffer> {
    const inodeKey = inodePageKey(file.subvol, file.ino, p);
    if (m.kind === 'hole' || m.kind === 'prealloc') {
      // Holes and prealloc read as zeros with no I/O; they have no logical data to share.
      const hit = this.lookup(inodeKey);
      if (hit) return hit;
      const zero = Buffer.alloc(this.S);
      this.cache.set(inodeKey, zero);
      return zero;
    }
    if (m.kind === 'inline') {
      const hit = this.lookup(inodeKey);
      if (hit) return hit;
      const page = Buffer.alloc(this.S);
      this.inlineBytes(m.extent, file, m).copy(page, 0, 0, this.S);
      this.cache.set(inodeKey, page);
      return page;
    }
    const e = m.extent;
    const inExtent = e.offset + p * this.SB - m.where.itemOffset; // byte offset into the (decompressed) extent
    if (e.compression !== 0) {
      const key = this.policy === 'logical' ? compressedPageKey(e.diskBytenr, inExtent / this.SB) : inodeKey;
      return this.lookup(key) ?? (await this.fillCompressed(file, m.where.itemOffset, e, p));
    }
    const key = this.policy === 'logical' ? logicalPageKey(e.diskBytenr + inExtent) : inodeKey;
    return this.lookup(key) ?? (await this.fillRegular(file, m.where.itemOffset, e, p));
  }

  private regularKey(file: FileRef, e: RegularExtent, itemOffset: bigint, q: bigint): string {
    return this.policy === 'logical'
      ? logicalPageKey(e.diskBytenr + e.offset + q * this.SB - itemOffset)
      : inodePageKey(file.subvol, file.ino, q);
  }

  /** Miss on an uncompressed extent: read this page and the readahead window after it. */
  private async fillRegular(file: FileRef, itemOffset: bigint, e: RegularExtent, p: bigint): Promise<Buffer> {
    const S = this.SB;
    const itemEndPage = (itemOffset + e.numBytes) / S;
    const fileEndPage = (file.size + S - 1n) / S;
    const limit = p + BigInt(this.readaheadPages);
    let q = p + 1n;
    while (q < limit && q < itemEndPage && q < fileEndPage && !this.cache.has(this.regularKey(file, e, itemOffset, q))) q++;
    const count = Number(q - p);
    const logical = e.diskBytenr + e.offset + p * S - itemOffset;
    const bytes = await this.readVerified(file, logical, count * this.S, p * S);
    for (let i = 0; i < count; i++) {
      this.cache.set(this.regularKey(file, e, itemOffset, p + BigInt(i)), bytes.subarray(i * this.S, (i + 1) * this.S));
    }
    return bytes.subarray(0, this.S);
  }

  /** Miss on a compressed extent: read and verify the whole extent, decompress it once. */
  private async fillCompressed(file: FileRef, itemOffset: bigint, e: RegularExtent, p: bigint): Promise<Buffer> {
    const S = this.SB;
    const diskLength = Number(e.diskNumBytes);
    const stored = await this.readVerified(file, e.diskBytenr, diskLength, itemOffset - e.offset);
    const ram = Number(e.ramBytes);
    const data = this.decompress(e.compression, stored, ram, false, file, itemOffset, e.diskBytenr);
    const pages = Math.ceil(ram / this.S);
    const pageOf = (idx: number) => {
      const page = Buffer.alloc(this.S);
      data.copy(page, 0, idx * this.S, Math.min(ram, (idx + 1) * this.S));
      return page;
    };
    const wanted = Number((e.offset + p * S - itemOffset) / S);
    if (this.policy === 'logical') {
      for (let idx = 0; idx < pages; idx++) {
        const key = compressedPageKey(e.diskBytenr, BigInt(idx));
        if (idx !== wanted && this.cache.has(key)) continue;
        this.cache.set(key, pageOf(idx));
      }
    } else {
      // The kernel fills the pages of this file that the extent covers (add_ra_bio_pages).
      const firstFilePage = itemOffset / S;
      const endFilePage = minBig((itemOffset + e.numBytes) / S, (file.size + S - 1n) / S);
      for (let f = firstFilePage; f < endFilePage; f++) {
        const key = inodePageKey(file.subvol, file.ino, f);
        if (f !== p && this.cache.has(key)) continue;
        this.cache.set(key, pageOf(Number((e.offset + f * S - itemOffset) / S)));
      }
    }
    return pageOf(wanted);
  }

  private inlineBytes(e: InlineExtent, file: FileRef, m: Mapping): Buffer {
    if (e.compression === 0) return e.data;
    return this.decompress(e.compression, e.data, Number(e.ramBytes), true, file, m.where?.itemOffset ?? 0n, undefined);
  }

  private decompress(type: number, input: Buffer, outLen: number, inline: boolean, file: FileRef, fileOffset: bigint, logical: bigint | undefined): Buffer {
    this.counters.decompressions++;
    this.counters.decompressed_bytes_in += input.length;
    this.counters.decompressed_bytes_out += outLen;
    try {
      return this.ctx.decompress(type, input, outLen, inline);
    } catch (e) {
      if (e instanceof BtrfsError) {
        const loc: Location = { path: file.path, fileOffset };
        if (logical !== undefined) loc.logical = logical;
        throw new CorruptError(e.message, loc);
      }
      throw e;
    }
  }

  /**
   * Read `length` bytes at `logical`, verifying each sector against the csum tree. A sector that
   * fails is re-read from the other copies; only when every copy fails is it an error.
   */
  async readVerified(file: FileRef, logical: bigint, length: number, fileOffset: bigint): Promise<Buffer> {
    const { volume, csums, checksummer } = this.ctx;
    const S = this.S;
    const sectors = length / S;
    const copies = volume.mirrorCount(logical);
    const where = (mirror?: number, at = 0): Location => {
      const loc: Location = { path: file.path, fileOffset: fileOffset + BigInt(at * S), logical: logical + BigInt(at * S) };
      if (mirror !== undefined) loc.mirror = mirror;
      return loc;
    };
    const sums = file.nodatasum ? undefined : await csums.lookup(logical, sectors);
    if (sums) {
      const missing = sums.present.indexOf(0);
      if (missing >= 0) throw new CorruptError('no data checksum for a sector of a checksummed file', where(undefined, missing));
    }
    let buf: Buffer | undefined;
    let firstMirror = 0;
    let readError: BtrfsError | undefined;
    for (; firstMirror < copies; firstMirror++) {
      try {
        buf = await this.diskRead(logical, length, firstMirror);
        break;
      } catch (e) {
        if (!(e instanceof BtrfsError)) throw e;
        readError ??= e;
      }
    }
    if (!buf) throw readError!;
    if (!sums) return buf;
    for (let i = 0; i < sectors; i++) {
      const sector = buf.subarray(i * S, (i + 1) * S);
      this.counters.csum_sectors_verified++;
      if (checksummer.matches(sector, sums.sums, i * checksummer.size)) continue;
      const expected = sums.sums.subarray(i * checksummer.size, (i + 1) * checksummer.size).toString('hex');
      const actual = Buffer.from(checksummer.digest(sector)).toString('hex');
      let repaired = false;
      for (let mirror = 0; mirror < copies && !repaired; mirror++) {
        if (mirror === firstMirror) continue;
        const at = logical + BigInt(i * S);
        let copy: Buffer;
        try {
          copy = await this.diskRead(at, S, mirror);
        } catch (e) {
          if (e instanceof BtrfsError) continue;
          throw e;
        }
        this.counters.csum_sectors_verified++;
        if (checksummer.matches(copy, sums.sums, i * checksummer.size)) {
          copy.copy(buf, i * S);
          repaired = true;
        }
      }
      if (!repaired) throw new ChecksumError('data', expected, actual, where(firstMirror, i));
    }
    return buf;
  }

  private async diskRead(logical: bigint, length: number, mirror: number): Promise<Buffer> {
    this.counters.disk_reads++;
    this.counters.disk_bytes += length;
    return this.ctx.volume.read(logical, length, mirror);
  }
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
