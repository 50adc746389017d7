// One emulated kernel under one cache policy: its own view of the filesystem, page cache, read path
// and emulated disk. Every operation of a workload runs on it the way the kernel would run it:
//
// - buffered writes dirty per-inode pages; a write not covering whole sectors first reads the page
//   through the cache (prepare_uptodate_folio); under the logical policy a write to a page held by
//   its logical address takes the page over when no other inode used it, and otherwise leaves it to
//   the others and writes a private copy (a sharing break);
// - dirty pages stay until written back: by fsync, by the flusher once they pass 20% of the budget
//   (vm.dirty_ratio; written back down to 10%, oldest inode first), before direct I/O, reflink and
//   snapshot of the range, or when reclaim finds nothing clean. Writeback is copy-on-write: the pages
//   get new logical addresses and stop being shared;
// - growing a file whose size is not sector aligned zeroes the old last sector (btrfs_truncate_block);
//   truncating drops the pages past the new end and zeroes the tail of the new last sector;
// - O_DIRECT reads and writes bypass the cache for sector-aligned uncompressed ranges, and fall back
//   to buffered I/O otherwise; a direct write invalidates the cached pages of its range;
// - reflink clones file extent items (whole sectors, the source's tail at EOF) and drops the
//   destination's pages of the range; snapshot copies a subvolume's inodes; unlink of the last name
//   drops the inode's pages; drop-caches drops every clean page.
//
// Under the logical policy a file's clean data pages are keyed by logical address: dropping a file's
// pages (truncate, unlink, direct write, reflink over it) drops those only no other inode has used,
// and leaves the rest to the other sharers.

import { inodeIdPageKey, logicalPageKey, type CachePolicy } from '../cache/page-key.js';
import { PageCache, type ReclaimPolicy } from '../cache/page-cache.js';
import type { ReadCounters } from '../cache/counters.js';
import type { Btrfs } from '../fs/btrfs.js';
import { PathError, UsageError } from '../errors.js';
import { KernelReadPath } from './kernel-read-path.js';
import { EmulatedDisk } from './emulated-disk.js';
import type { Shareability } from '../extents/shareability.js';
import { emulatedExtent, shifted, type Segment } from './file-map.js';
import type { Op } from './trace.js';
import type { ImageIndex } from './image-index.js';
import { View, type EmuInode } from './view.js';

export interface MachineOptions {
  policy: CachePolicy;
  /** Page budget (Infinity: unlimited). */
  maxPages: number;
  reclaim: ReclaimPolicy;
  readaheadBytes: number;
  /** Keep page bytes (to check what reads return); without, only count. */
  keepData: boolean;
}

/** What a reading operation returned: bytes of the file starting at `offset`. */
export interface ReadResult {
  offset: bigint;
  data: Buffer | undefined;
}

/** vm.dirty_ratio and vm.dirty_background_ratio defaults. */
const DIRTY_RATIO = 0.2;
const DIRTY_BACKGROUND_RATIO = 0.1;

export class Machine {
  readonly counters: ReadCounters;
  readonly cache: PageCache;
  readonly readPath: KernelReadPath;
  private readonly S: bigint;
  /** Inodes with dirty pages, oldest dirtied first (the flusher's order). */
  private readonly dirty = new Map<string, EmuInode>();
  private readonly dirtyLimit: number;
  private readonly dirtyBackground: number;

  private constructor(readonly policy: CachePolicy, readonly view: View, readonly disk: EmulatedDisk, cache: PageCache, readPath: KernelReadPath, maxPages: number) {
    this.cache = cache;
    this.readPath = readPath;
    this.counters = cache.counters;
    this.S = BigInt(readPath.sectorsize);
    this.dirtyLimit = Number.isFinite(maxPages) ? Math.floor(maxPages * DIRTY_RATIO) : Infinity;
    this.dirtyBackground = Number.isFinite(maxPages) ? Math.floor(maxPages * DIRTY_BACKGROUND_RATIO) : Infinity;
    cache.flush = () => {
      const oldest = this.dirty.values().next().value;
      if (oldest) this.writeback(oldest);
    };
  }

  static async create(btrfs: Btrfs, refs: Shareability, images: ImageIndex, options: MachineOptions): Promise<Machine> {
    const view = await View.create(btrfs, images);
    const S = btrfs.filesystem.sectorsize;
    let imageEnd = 0n;
    for (const c of btrfs.filesystem.volume.chunks.all()) if (c.logical + c.length > imageEnd) imageEnd = c.logical + c.length;
    const disk = new EmulatedDisk(imageEnd, S, options.keepData);
    const cache = new PageCache({ maxPages: options.maxPages, reclaim: options.reclaim, pageSize: S });
    const readPath = new KernelReadPath(
      { ...btrfs.dataContext, extentShared: (bytenr, len) => view.partialRefs.has(bytenr) || refs.multiplyReferenced(bytenr, len) },
      { policy: options.policy, cache, readaheadBytes: options.readaheadBytes, keepData: options.keepData },
    );
    return new Machine(options.policy, view, disk, cache, readPath, options.maxPages);
  }

  get keepData(): boolean {
    return this.readPath.keepData;
  }

  /** Run one operation; reading operations return what they read. */
  async apply(op: Op, seq: number): Promise<ReadResult | undefined> {
    const S = this.S;
    switch (op.op) {
      case 'read': {
        const inode = await this.view.file(op.path, 'read');
        const at = BigInt(op.offset);
        if (!this.keepData) return void (await this.readPath.access(inode.file, at, op.length));
        return { offset: at, data: await this.readPath.read(inode.file, at, op.length) };
      }
      case 'dio-read': {
        const inode = await this.view.file(op.path, 'read');
        const at = BigInt(op.offset);
        this.writeback(inode, (at / S) * S, ((at + BigInt(op.length) + S - 1n) / S) * S);
        return { offset: at, data: await this.readPath.readDirect(inode.file, at, op.length) };
      }
      case 'mmap-read': {
        const inode = await this.view.file(op.path, 'mmap');
        const at = BigInt(op.offset);
        if (at >= inode.size) throw new UsageError(`mmap-read ${op.path}: offset ${at} is past the end of the file (${inode.size} bytes): SIGBUS`);
        const p = at / S;
        const page = await this.readPath.readPage(inode.file, p);
        const n = inode.size - p * S < S ? Number(inode.size - p * S) : Number(S);
        return { offset: p * S, data: page?.subarray(0, n) };
      }
      case 'write': {
        const inode = await this.writableFile(op.path, 'write');
        await this.write(inode, BigInt(op.offset), op.length, this.keepData ? (op.data ?? pattern(seq, op.length)) : undefined);
        return undefined;
      }
      case 'dio-write':
        await this.directWrite(await this.writableFile(op.path, 'write'), BigInt(op.offset), op.length, this.keepData ? (op.data ?? pattern(seq, op.length)) : undefined);
        return undefined;
      case 'mmap-write': {
        const inode = await this.writableFile(op.path, 'mmap');
        const at = BigInt(op.offset);
        const p = at / S;
        const within = Number(at - p * S);
        const room = Math.min(Number(S) - within, Number(inode.size - at));
        if (at >= inode.size) throw new UsageError(`mmap-write ${op.path}: offset ${at} is past the end of the file (${inode.size} bytes): SIGBUS`);
        if (op.data && op.data.length > room) throw new UsageError(`mmap-write ${op.path}: ${op.data.length} bytes at ${at} cross the page or the end of the file`);
        const data = op.data ?? pattern(seq, Math.min(8, room));
        await this.dirtyPage(inode, p, false, this.keepData ? (page) => data.copy(page, within) : undefined);
        return undefined;
      }
      case 'fsync':
        this.writeback(await this.view.file(op.path, 'fsync'));
        return undefined;
      case 'truncate':
        await this.truncate(await this.writableFile(op.path, 'truncate'), BigInt(op.size));
        return undefined;
      case 'unlink': {
        const dir = await this.view.resolve(parentOf(op.path), 'unlink');
        if (await this.view.isReadonly(dir.subvol)) throw erofs('unlink', op.path);
        const gone = await this.view.unlink(op.path);
        if (gone) {
          this.dropPages(gone, 0n, undefined);
          this.dirty.delete(gone.id);
        }
        return undefined;
      }
      case 'reflink':
        await this.reflink(op.src, op.dst, BigInt(op.src_offset), BigInt(op.dst_offset), BigInt(op.length));
        return undefined;
      case 'snapshot': {
        const src = await this.view.resolve(op.src, 'snapshot');
        const dir = await this.view.resolve(parentOf(op.dst), 'snapshot');
        if (await this.view.isReadonly(dir.subvol)) throw erofs('snapshot', op.dst);
        // The kernel writes back the source's dirty data before it snapshots (btrfs_start_delalloc_snapshot).
        for (const inode of await this.view.inodesOf(src.subvol)) if (this.dirty.has(inode.id)) this.writeback(inode);
        await this.view.snapshot(op.src, op.dst, op.readonly);
        return undefined;
      }
      case 'drop-caches':
        this.cache.dropClean();
        return undefined;
    }
  }

  private async writableFile(path: string, syscall: string): Promise<EmuInode> {
    const inode = await this.view.file(path, syscall);
    if (await this.view.isReadonly(inode.subvol)) throw erofs(syscall, path);
    return inode;
  }

  // --- buffered writes ------------------------------------------------------------------------------

  private async write(inode: EmuInode, offset: bigint, length: number, data: Buffer | undefined): Promise<void> {
    if (length === 0) return;
    const S = this.S;
    await this.view.materialize(inode);
    const end = offset + BigInt(length);
    if (offset > inode.size) await this.expand(inode);
    for (let p = offset / S; p * S < end; p++) {
      const ps = p * S;
      const a = offset > ps ? offset : ps;
      const b = end < ps + S ? end : ps + S;
      const patch = data ? (page: Buffer) => void data.copy(page, Number(a - ps), Number(a - offset), Number(b - offset)) : undefined;
      await this.dirtyPage(inode, p, a === ps && b === ps + S, patch);
      if (b > inode.size) inode.size = b;
    }
  }

  /** Make page `p` dirty (its bytes then changed by `patch`), pulling it through the cache when the write is partial. */
  private async dirtyPage(inode: EmuInode, p: bigint, full: boolean, patch: ((page: Buffer) => void) | undefined): Promise<void> {
    const S = this.S;
    const file = inode.file;
    const map = await this.view.materialize(inode);
    const ps = p * S;
    const iKey = inodeIdPageKey(inode.id, p);
    let m = await this.readPath.mappingAt(file, p);
    if (m.kind === 'dirty') {
      const page = this.cache.lookup(iKey, inode.id, Number(p));
      if (!page) throw new Error(`internal: dirty page ${p} of ${inode.path} is not resident`);
      if (patch && page.data) patch(page.data);
      return;
    }
    let base: Buffer | undefined;
    if (!full && ps < inode.size) {
      base = await this.readPath.readPage(file, p);
      m = await this.readPath.mappingAt(file, p);
    }
    const name = this.readPath.nameOf(file, m, p);
    let data: Buffer | undefined;
    if (this.keepData) {
      data = Buffer.alloc(Number(S));
      if (base) base.copy(data);
      // What lies past EOF in the sector reads as zeros once the file grows over it.
      if (inode.size > ps && inode.size < ps + S) data.fill(0, Number(inode.size - ps));
      else if (inode.size <= ps) data.fill(0);
      patch?.(data);
    }
    const place = { owner: inode.id, index: Number(p), perInode: true };
    const held = this.cache.peek(name.key);
    if (name.perInode) {
      if (held) {
        this.cache.lookup(iKey, inode.id, Number(p));
        held.data = data;
        this.cache.setIdentity(held, undefined);
        this.cache.setDirty(held, true);
      } else this.cache.insert(iKey, data, { ...place, accessed: true, dirty: true, refaultKey: name.key });
    } else if (held && !held.shared && (held.owner === undefined || held.owner === inode.id) && !this.cache.peek(iKey)) {
      // Only this inode used the page: it becomes the inode's dirty page, nothing is copied.
      this.cache.rekey(held, iKey, { ...place, identity: undefined });
      this.cache.lookup(iKey, inode.id, Number(p));
      held.data = data;
      this.cache.setDirty(held, true);
    } else {
      if (held) this.counters.sharing_breaks++;
      this.cache.insert(iKey, data, { ...place, accessed: true, dirty: true, refaultKey: name.key });
    }
    map.replace(ps, ps + S, [{ kind: 'dirty', fileOffset: ps, length: S }]);
    if (!this.dirty.has(inode.id)) this.dirty.set(inode.id, inode);
    if (this.counters.dirty_pages > this.dirtyLimit) this.flusher();
  }

  /** Background writeback: oldest dirtied inodes first, down to the background threshold. */
  private flusher(): void {
    for (const inode of this.dirty.values()) {
      if (this.counters.dirty_pages <= this.dirtyBackground) break;
      this.writeback(inode);
    }
  }

  /** Write the dirty pages of [from, to) to new logical addresses (copy-on-write). */
  private writeback(inode: EmuInode, from = 0n, to?: bigint): void {
    const map = inode.map;
    if (!map || !this.dirty.has(inode.id)) return;
    const S = this.S;
    for (const [a, b] of map.dirtyRuns(from, to ?? map.end)) {
      const length = b - a;
      const at = this.disk.allocate(length);
      for (let q = a; q < b; q += S) {
        const page = this.cache.peek(inodeIdPageKey(inode.id, q / S));
        if (!page || !page.dirty) throw new Error(`internal: dirty page ${q / S} of ${inode.path} is not resident`);
        const logical = at + (q - a);
        this.disk.writeSector(logical, page.data);
        this.cache.setDirty(page, false);
        const id = logicalPageKey(logical);
        if (this.policy === 'logical') this.cache.rekey(page, id, { identity: id, owner: inode.id, index: Number(q / S), perInode: false });
        else this.cache.setIdentity(page, id);
      }
      map.replace(a, b, [emulatedExtent(a, at, length, this.disk)]);
      this.counters.disk_writes++;
      this.counters.disk_write_bytes += Number(length);
      this.counters.writeback_pages += Number(length / S);
    }
    if (!map.hasDirty()) this.dirty.delete(inode.id);
  }

  /** Zero the old last sector's tail before the file grows over it (btrfs_cont_expand). */
  private async expand(inode: EmuInode): Promise<void> {
    const S = this.S;
    if (inode.size % S === 0n) return;
    const p = inode.size / S;
    const m = await this.readPath.mappingAt(inode.file, p);
    if (m.kind === 'hole' || m.kind === 'prealloc') return;
    await this.dirtyPage(inode, p, false, undefined);
  }

  private async truncate(inode: EmuInode, size: bigint): Promise<void> {
    const S = this.S;
    const map = await this.view.materialize(inode);
    if (size >= inode.size) {
      await this.expand(inode);
      inode.size = size;
      return;
    }
    // The kernel drops the pages and items past the end first, then zeroes the tail of the new last
    // sector through the page cache (btrfs_truncate_block), which dirties that page.
    const cut = ((size + S - 1n) / S) * S;
    inode.size = size;
    this.dropPages(inode, cut / S, undefined);
    map.truncate(cut);
    if (size % S !== 0n) {
      const p = size / S;
      const m = await this.readPath.mappingAt(inode.file, p);
      if (m.kind !== 'hole' && m.kind !== 'prealloc') await this.dirtyPage(inode, p, false, undefined);
    }
    if (!map.hasDirty()) this.dirty.delete(inode.id);
  }

  // --- direct I/O, reflink --------------------------------------------------------------------------

  private async directWrite(inode: EmuInode, offset: bigint, length: number, data: Buffer | undefined): Promise<void> {
    const S = this.S;
    const len = BigInt(length);
    if (offset % S !== 0n || len % S !== 0n) {
      this.counters.dio_fallbacks++;
      return this.write(inode, offset, length, data);
    }
    if (length === 0) return;
    const end = offset + len;
    const map = await this.view.materialize(inode);
    this.writeback(inode, offset, end);
    this.dropPages(inode, offset / S, end / S);
    if (offset > inode.size) await this.expand(inode);
    const at = this.disk.allocate(len);
    if (data) for (let i = 0; i < length; i += Number(S)) this.disk.writeSector(at + BigInt(i), Buffer.from(data.subarray(i, i + Number(S))));
    map.replace(offset, end, [emulatedExtent(offset, at, len, this.disk)]);
    if (end > inode.size) inode.size = end;
    this.counters.disk_writes++;
    this.counters.disk_write_bytes += length;
  }

  private async reflink(srcPath: string, dstPath: string, srcOff: bigint, dstOff: bigint, length: bigint): Promise<void> {
    const S = this.S;
    const src = await this.view.file(srcPath, 'clone');
    const existing = await this.view.file(dstPath, 'clone').catch((e: unknown) => {
      if (e instanceof PathError && e.code === 'ENOENT') return undefined;
      throw e;
    });
    const dstDir = existing ? existing.subvol : (await this.view.resolve(parentOf(dstPath), 'clone')).subvol;
    if (await this.view.isReadonly(dstDir)) throw erofs('clone', dstPath);
    const invalid = (why: string) => new UsageError(`reflink ${srcPath} -> ${dstPath}: EINVAL: ${why}`);
    if (srcOff > src.size) throw invalid(`source offset ${srcOff} is past the end of the source (${src.size} bytes)`);
    const len = length === 0n ? src.size - srcOff : length;
    if (srcOff + len > src.size) throw invalid(`source range ends past the end of the source (${src.size} bytes)`);
    if (srcOff % S !== 0n || dstOff % S !== 0n) throw invalid(`offsets must be multiples of the sector size (${S})`);
    const toEof = srcOff + len === src.size;
    if (len % S !== 0n && !toEof) throw invalid('length must be a multiple of the sector size unless the range ends at the end of the source');
    if (existing && len % S !== 0n && dstOff + len < existing.size) throw invalid('an unaligned tail cannot go into the middle of the destination');
    if (existing === src && srcOff < dstOff + len && dstOff < srcOff + len) throw invalid('source and destination ranges overlap');
    if (existing && existing.nodatasum !== src.nodatasum) throw invalid('source and destination differ in data checksums (NODATASUM)');
    if (len === 0n) {
      if (!existing) await this.view.create(dstPath, src);
      return;
    }
    const dst = existing ?? (await this.view.create(dstPath, src));
    const span = ((len + S - 1n) / S) * S;
    // Both ranges go to disk first (btrfs_remap_file_range flushes delalloc), then the destination's pages go.
    this.writeback(src, srcOff, srcOff + span);
    this.writeback(dst, dstOff, dstOff + span);
    const dstMap = await this.view.materialize(dst);
    const srcMap = await this.view.materialize(src);
    this.dropPages(dst, dstOff / S, (dstOff + span) / S);
    if (dstOff > dst.size) await this.expand(dst);
    let inline = false;
    const pieces: Segment[] = srcMap.pieces(srcOff, srcOff + span).map((s) => {
      if (s.kind !== 'inline') return shifted(s, dstOff - srcOff);
      // Inline data cannot be shared: the kernel copies it into the destination's page (copy_inline_to_page).
      inline = true;
      return { kind: 'hole', fileOffset: s.fileOffset + dstOff - srcOff, length: s.length, explicit: false };
    });
    const inlineBytes = inline ? await this.readPath.readPage(src.file, 0n) : undefined;
    dstMap.replace(dstOff, dstOff + span, pieces);
    if (dstOff + len > dst.size) dst.size = dstOff + len;
    if (inline) await this.dirtyPage(dst, dstOff / S, true, inlineBytes ? (page) => void inlineBytes.copy(page) : undefined);
  }

  /**
   * Drop the pages of an inode with index in [from, to) (to undefined: to the end): its own pages,
   * dirty ones discarded, and (logical policy) pages of its data that no other inode used.
   */
  private dropPages(inode: EmuInode, from: bigint, to: bigint | undefined): void {
    const lo = Number(from);
    const hi = to === undefined ? Infinity : Number(to);
    for (const page of [...(this.cache.pagesOf(inode.id) ?? [])]) {
      if (page.index >= lo && page.index < hi && (page.perInode || !page.shared)) this.cache.invalidate(page);
    }
    this.cache.forgetEvicted(inode.id, lo, hi);
  }
}

function erofs(syscall: string, path: string): UsageError {
  return new UsageError(`${syscall} ${path}: EROFS: read-only file system`);
}

function parentOf(path: string): string {
  const parts = path.split('/').filter((c) => c !== '' && c !== '.');
  parts.pop();
  return '/' + parts.join('/');
}

/** Bytes a write without data writes: its sequence number, repeated (different for every write). */
function pattern(seq: number, length: number): Buffer {
  const stamp = Buffer.alloc(8);
  stamp.writeBigUInt64LE(BigInt(seq) + 1n);
  return Buffer.alloc(length, stamp);
}
