// Extraction: a tree of the image copied out to a directory, every shared extent read, verified and
// decompressed exactly once whatever the memory budget.
//
// 1. The metadata walk creates every entry (confined to the output directory, see output-tree.ts).
//    Inline data is written at once (it is in the leaf already); so is data no other file can reach
//    (read once whatever happens). Every reference to an extent another file can reach goes into the
//    plan (data-plan.ts) instead, and its file waits among the pending files.
// 2. The plan is taken in logical-address order: each shared extent is read and verified once (a
//    compressed one decompressed once) and written to every file that references it while it is in
//    hand; a file gets its owner, mode and times when its last piece is written.
// 3. Extended attributes (after every write and chown, which clear security.capability), then the
//    directories' own metadata, deepest first (creating entries changes a directory's times).
//
// Holes and prealloc are never written: the output is as sparse as the image. Hard links are made to
// the first name of their inode.

import { closeSync, fchmodSync, fchownSync, ftruncateSync, futimesSync, lchownSync, lutimesSync, chmodSync, writeSync } from 'node:fs';
import { BtrfsError } from '../errors.js';
import type { DataOwner } from '../extents/data-extents.js';
import { DataExtents } from '../extents/data-extents.js';
import type { Btrfs } from '../fs/btrfs.js';
import { mappings, type Mapping } from '../fs/file-extents.js';
import type { FileRef } from '../fs/file-ref.js';
import { splitDev } from '../fs/stats.js';
import { walk, type WalkEntry } from '../fs/walk.js';
import { MAX_UNCOMPRESSED } from '../compression/types.js';
import type { ReaderCounters } from '../reader/file-reader.js';
import { DamageReport, Salvager } from '../reader/salvage.js';
import { DataPlan, type ExtentRef, type PlannedRef } from './data-plan.js';
import { OutputError, OutputTree, showPath, type OutDir } from './output-tree.js';
import { metaOf, PendingFiles, type FileMeta } from './pending-files.js';
import { DEFAULT_XATTR_PATTERNS, XattrRestore } from './xattr-restore.js';

export interface ExtractOptions {
  /** What to extract: a directory or a single entry of the view (default "/"). */
  path?: string;
  /** The destination directory (created if missing). */
  output: string;
  /** Do not descend into other subvolumes (like tar --one-file-system). */
  oneSubvolume?: boolean;
  /** Read through damage: zero-fill what cannot be read, report each problem, go on. */
  ignoreErrors?: boolean;
  /** Replace entries that exist in the destination (default: each is a problem, left alone). */
  overwrite?: boolean;
  /** Give entries the image's owners (default: when running as root). */
  owners?: boolean;
  /** Keep set-user-ID and set-group-ID bits (tar -p); without, they are cleared. */
  samePermissions?: boolean;
  /** Create block and character device nodes (needs root). */
  devices?: boolean;
  /** Restore extended attributes: false (default), true (user.* only), or the name globs to restore besides user.*. */
  xattrs?: boolean | readonly string[];
  /** Called as entries and bytes are done. */
  onProgress?: (entries: number, bytes: bigint) => void;
  /** Each problem, one line, as it happens. */
  onProblem?: (line: string) => void;
}

/** What an extraction did (the reader's counters for this extraction only). */
export interface ExtractSummary {
  files: number;
  bytes_written: number;
  disk_reads: number;
  disk_bytes: number;
  csum_sectors_verified: number;
  decompressions: number;
  inline_decompressions: number;
  /** References to an extent written from bytes already in hand (read once for several files, or cache hits). */
  extents_reused: number;
  problems: number;
}

/** Read and written at once at most (bounds the buffers). */
const CHUNK = 1024 * 1024;
/** Measured here: 1 MiB writes into the page cache ran at a tenth of the speed of 128 KiB ones. */
const WRITE_PIECE = 128 * 1024;
/** Files kept open between their creation and their planned data. */
const OPEN_FILES = 256;
/** What finishing a file must do besides setting its times (see finishFile). */
const FINISH_TRUNCATE = 1;
const FINISH_CHOWN = 2;
const FINISH_CHMOD = 4;

export async function extract(btrfs: Btrfs, options: ExtractOptions): Promise<ExtractSummary> {
  const job = new Extraction(btrfs, options);
  return job.run();
}

class Extraction {
  private readonly out: OutputTree;
  private readonly plan = new DataPlan();
  private readonly pending = new PendingFiles();
  /** Open descriptors of pending files, least recently used first. */
  private readonly open = new Map<number, number>();
  /** Directories created, in creation order, with the metadata they get last. */
  private readonly dirs: Array<{ path: Buffer; meta: FileMeta }> = [];
  /** First name of each hard-linked inode, until all its names in the tree have been seen. */
  private readonly links = new Map<string, { path: Buffer; left: number }>();
  private readonly xattrs: XattrRestore | undefined;
  private readonly report: DamageReport;
  private readonly salvager: Salvager | undefined;
  private readonly extents: DataExtents;
  private readonly before: ReaderCounters;
  private readonly modeMask: number;
  private readonly owners: boolean;
  /** New files belong to these, and get the umask taken off their mode. */
  private readonly euid = process.geteuid?.() ?? -1;
  private readonly egid = process.getegid?.() ?? -1;
  private readonly umask = process.umask();
  private readonly chunk = Buffer.allocUnsafe(CHUNK);
  private decoded: Buffer | undefined;
  private entries = 0;
  private files = 0;
  private bytes = 0;
  private reused = 0;

  constructor(private readonly btrfs: Btrfs, private readonly options: ExtractOptions) {
    this.out = new OutputTree(options.output, options.overwrite === true);
    const x = options.xattrs;
    this.xattrs = x ? new XattrRestore(x === true ? DEFAULT_XATTR_PATTERNS : [...DEFAULT_XATTR_PATTERNS, ...x]) : undefined;
    this.report = new DamageReport((line) => options.onProblem?.(line));
    this.salvager = options.ignoreErrors ? new Salvager(btrfs.reader, this.report.read) : undefined;
    this.extents = new DataExtents(btrfs.dataContext, btrfs.counters);
    this.before = { ...btrfs.counters };
    this.modeMask = options.samePermissions ? 0o7777 : 0o1777;
    this.owners = options.owners ?? process.getuid?.() === 0;
  }

  async run(): Promise<ExtractSummary> {
    try {
      await this.walkAndCreate();
      await this.writePlanned();
    } catch (e) {
      // Stopped by damage (without --ignore-errors) or by a full destination: files still waiting for
      // data are removed rather than left behind with holes where their data belongs.
      this.abandonPending();
      throw e;
    }
    for (const line of this.xattrs?.finish() ?? []) this.problem(line);
    this.finishDirectories();
    const c = this.btrfs.counters;
    const b = this.before;
    return {
      files: this.files, bytes_written: this.bytes, disk_reads: c.disk_reads - b.disk_reads, disk_bytes: c.disk_bytes - b.disk_bytes,
      csum_sectors_verified: c.csum_sectors_verified - b.csum_sectors_verified, decompressions: c.decompressions - b.decompressions,
      inline_decompressions: c.inline_decompressions - b.inline_decompressions, extents_reused: c.extents_reused - b.extents_reused + this.reused,
      problems: this.report.count,
    };
  }

  // --- 1. the walk ----------------------------------------------------------------------------

  private async walkAndCreate(): Promise<void> {
    const ignore = this.options.ignoreErrors === true;
    // The directory each depth's entries go into; null below a directory that could not be created.
    const parents: Array<OutDir | null> = [];
    const entries = walk(this.btrfs, this.options.path ?? '/', {
      follow: true, oneSubvolume: this.options.oneSubvolume === true, ...(ignore ? { onError: this.report.entry } : {}),
    });
    for await (const e of entries) {
      this.entries++;
      this.progress();
      let parent: OutDir | null;
      if (e.depth === 0) {
        if (e.kind === 'dir') {
          // The start directory is the output directory itself.
          parents[0] = this.out.root;
          this.dirs.push({ path: this.out.root.path, meta: metaOf(e.facts) });
          await this.addXattrs(e, this.out.root.path);
          continue;
        }
        parent = this.out.root;
      } else parent = parents[e.depth - 1] ?? null;
      parents.length = e.depth;
      if (!parent) continue;
      const name = e.depth === 0 && e.name.length === 0 ? Buffer.from('root') : e.name;
      try {
        const dir = await this.create(e, parent, name);
        if (e.kind === 'dir') parents[e.depth] = dir ?? null;
      } catch (err) {
        if (e.kind === 'dir') parents[e.depth] = null;
        if (err instanceof OutputError && !err.fatal) {
          this.problem(e.kind === 'dir' ? `${err.message}; skipped with everything below it` : err.message);
          continue;
        }
        if (ignore && err instanceof BtrfsError) {
          this.report.entry(e.path, err);
          continue;
        }
        throw err;
      }
    }
  }

  /** One entry; returns the directory it made, if it is one. */
  private async create(e: WalkEntry, parent: OutDir, name: Buffer): Promise<OutDir | undefined> {
    const f = e.facts;
    const inode = e.kind !== 'dir' && f.nlink > 1 ? `${e.node.subvol}:${e.node.ino}` : '';
    if (inode) {
      const first = this.links.get(inode);
      if (first) {
        this.out.link(first.path, parent, name);
        if (--first.left <= 0) this.links.delete(inode);
        return undefined;
      }
    }
    let path: Buffer;
    switch (e.kind) {
      case 'dir': {
        const dir = this.out.mkdir(parent, name);
        this.dirs.push({ path: dir.path, meta: metaOf(f) });
        await this.addXattrs(e, dir.path);
        return dir;
      }
      case 'file':
        path = await this.createFile(e, parent, name);
        break;
      case 'symlink': {
        path = this.out.symlink(parent, name, await this.btrfs.readlinkNode(e.node));
        if (this.owners) lchownSync(path, f.uid, f.gid);
        lutimesSync(path, utime(f.atimeNs), utime(f.mtimeNs));
        break;
      }
      case 'fifo':
      case 'chr':
      case 'blk': {
        if (e.kind !== 'fifo' && !this.options.devices) {
          this.problem(`${e.path}: ${e.kind === 'chr' ? 'character' : 'block'} device not created (--devices creates device nodes)`);
          return undefined;
        }
        const { major, minor } = splitDev(f.rdev);
        path = this.out.special(parent, name, e.kind, major, minor);
        if (this.owners) lchownSync(path, f.uid, f.gid);
        chmodSync(path, f.mode & this.modeMask);
        lutimesSync(path, utime(f.atimeNs), utime(f.mtimeNs));
        break;
      }
      default:
        // Sockets are not recreated: a socket without its server is meaningless.
        return undefined;
    }
    this.files++;
    if (inode) this.links.set(inode, { path, left: f.nlink - 1 });
    await this.addXattrs(e, path);
    return undefined;
  }

  /**
   * A regular file: created, its inline and unshared data written now, its shared data planned. When
   * nothing is planned it is finished here; otherwise it waits among the pending files.
   */
  private async createFile(e: WalkEntry, parent: OutDir, name: Buffer): Promise<Buffer> {
    const meta = metaOf(e.facts);
    // Created with its final mode where that leaves it writable and the umask keeps it whole: one
    // fchmod fewer per file. Otherwise 0600 until it is finished.
    const mode = meta.mode & this.modeMask;
    const direct = (mode & ~0o777) === 0 && (mode & 0o600) === 0o600 && (mode & this.umask) === 0;
    const { path, fd } = this.out.createFile(parent, name, direct ? mode : 0o600);
    let needs = (direct ? 0 : FINISH_CHMOD) | (this.owners && (meta.uid !== this.euid || meta.gid !== this.egid) ? FINISH_CHOWN : 0);
    // Planned only once the whole file went well: a file given up halfway leaves nothing planned.
    const planned: ExtentRef[] = [];
    try {
      const file = await this.btrfs.fileRef(e.node, e.path);
      if (file.size > BigInt(Number.MAX_SAFE_INTEGER)) throw new OutputError(path, 'EFBIG', `file size ${file.size} is beyond what can be written here`);
      let dataEnd = 0n;
      const take = async (m: Mapping): Promise<void> => {
        if (m.kind === 'hole' || m.kind === 'prealloc') return;
        dataEnd = m.fileOffset + m.length;
        const shared = m.kind === 'regular' && (await this.btrfs.shareability.canBeShared(file.subvol, m.extent, m.where.block));
        if (shared && m.kind === 'regular') {
          const x = m.extent;
          const ref: ExtentRef = {
            diskBytenr: x.diskBytenr, diskNumBytes: x.diskNumBytes, ramBytes: x.ramBytes, compression: x.compression,
            offset: x.offset + (m.fileOffset - m.where.itemOffset), length: m.length, fileOffset: m.fileOffset, file: -1, nodatasum: file.nodatasum,
          };
          if (DataPlan.fits(ref)) {
            planned.push(ref);
            return;
          }
        }
        await this.copyMapping(fd, file, m, shared);
      };
      const all = mappings(file.tree, file.ino, this.btrfs.filesystem.sectorsize, 0n, file.size);
      // An array (nearly always) is walked without an async iteration.
      if (Array.isArray(all)) for (const m of all) await take(m);
      else for await (const m of all) await take(m);
      // Holes at the end are made by setting the size; otherwise the last write set it already.
      if (dataEnd < file.size) needs |= FINISH_TRUNCATE;
    } catch (err) {
      closeSync(fd);
      this.out.remove(path);
      throw err;
    }
    if (planned.length === 0) {
      this.finishFile(fd, path, meta, needs);
      return path;
    }
    const index = this.pending.add(path, meta, e.node.subvol, e.node.ino, planned.length, needs);
    for (const ref of planned) this.plan.add({ ...ref, file: index });
    this.keepOpen(index, fd);
    return path;
  }

  /** Inline or unshared data of one mapping, read now and written at its place. */
  private async copyMapping(fd: number, file: FileRef, m: Mapping, shared: boolean): Promise<void> {
    for (let at = m.fileOffset; at < m.fileOffset + m.length; ) {
      const left = m.fileOffset + m.length - at;
      const n = left < BigInt(CHUNK) ? Number(left) : CHUNK;
      const buf = this.chunk.subarray(0, n);
      if (this.salvager) await this.salvager.read(file, at, buf);
      else if (at === m.fileOffset && n === Number(m.length)) await this.btrfs.reader.mapping(file, m, at, buf, shared);
      else await this.btrfs.reader.read(file, at, buf);
      this.write(fd, buf, Number(at));
      at += BigInt(n);
    }
  }

  // --- 2. the plan ------------------------------------------------------------------------------

  private async writePlanned(): Promise<void> {
    if (this.plan.size === 0) return;
    const order = this.plan.order();
    for (let i = 0; i < order.length; ) {
      // One group: the references to one extent (those without checksums apart).
      const first = this.plan.ref(order[i]!);
      const group: PlannedRef[] = [first];
      let j = i + 1;
      for (; j < order.length; j++) {
        const r = this.plan.ref(order[j]!);
        if (r.diskBytenr !== first.diskBytenr || r.nodatasum !== first.nodatasum) break;
        group.push(r);
      }
      i = j;
      try {
        if (first.compression !== 0) await this.writeCompressed(group);
        else await this.writeUncompressed(group);
      } catch (err) {
        if (!(err instanceof BtrfsError) || !this.salvager) throw err;
        // Reading through damage: each reference on its own, sector by sector.
        for (const r of group) await this.salvageRef(r);
      }
      this.reused += group.length - 1;
      for (const r of group) this.pieceDone(r.file);
    }
  }

  private owner(r: PlannedRef): DataOwner {
    return { path: showPath(this.pending.path(r.file)), fileOffset: BigInt(r.fileOffset), nodatasum: r.nodatasum };
  }

  /** A compressed extent: read and decompressed once, each reference's part written from it. */
  private async writeCompressed(group: PlannedRef[]): Promise<void> {
    const first = group[0]!;
    const extent = {
      kind: 'regular' as const, generation: 0n, diskBytenr: BigInt(first.diskBytenr), diskNumBytes: BigInt(first.diskNumBytes),
      ramBytes: BigInt(first.ramBytes), compression: first.compression, offset: 0n, numBytes: BigInt(first.ramBytes),
    };
    const owner = this.owner(first);
    const stored = await this.extents.readStored(extent, owner);
    await this.extents.prepare(extent.compression);
    this.decoded ??= Buffer.allocUnsafe(MAX_UNCOMPRESSED);
    const data = this.extents.decompressLoaded(extent.compression, stored, first.ramBytes, owner, extent.diskBytenr, this.decoded);
    for (const r of group) {
      // What lies past the decompressed bytes reads as zeros: the sparse file has them already.
      const end = Math.min(r.offset + r.length, data.length);
      if (end > r.offset) this.write(this.fd(r.file), data.subarray(r.offset, end), r.fileOffset);
      // Short of what the item covers: the size must be set for the zeros after it to exist.
      if (end < r.offset + r.length) this.pending.addNeeds(r.file, FINISH_TRUNCATE);
    }
  }

  /**
   * An uncompressed extent: the sectors its references cover, merged, read and verified once in
   * pieces, each piece written to every reference overlapping it.
   */
  private async writeUncompressed(group: PlannedRef[]): Promise<void> {
    const S = this.btrfs.filesystem.sectorsize;
    const first = group[0]!;
    // group is sorted by offset: merge the sector ranges, then walk each merged run piece by piece.
    let k = 0;
    while (k < group.length) {
      const runStart = Math.floor(group[k]!.offset / S) * S;
      let runEnd = Math.ceil((group[k]!.offset + group[k]!.length) / S) * S;
      let m = k + 1;
      while (m < group.length && Math.floor(group[m]!.offset / S) * S <= runEnd) {
        runEnd = Math.max(runEnd, Math.ceil((group[m]!.offset + group[m]!.length) / S) * S);
        m++;
      }
      const refs = group.slice(k, m);
      const active: PlannedRef[] = [];
      let next = 0;
      for (let at = runStart; at < runEnd; at += CHUNK) {
        const n = Math.min(CHUNK, runEnd - at);
        const owner = { ...this.owner(first), fileOffset: BigInt(first.fileOffset - first.offset + at) };
        const buf = await this.extents.readVerified(BigInt(first.diskBytenr + at), n, owner, this.chunk.subarray(0, n));
        while (next < refs.length && refs[next]!.offset < at + n) active.push(refs[next++]!);
        for (let a = active.length - 1; a >= 0; a--) {
          const r = active[a]!;
          const from = Math.max(r.offset, at);
          const to = Math.min(r.offset + r.length, at + n);
          if (from < to) this.write(this.fd(r.file), buf.subarray(from - at, to - at), r.fileOffset + (from - r.offset));
          if (r.offset + r.length <= at + n) active.splice(a, 1);
        }
      }
      k = m;
    }
  }

  /** --ignore-errors: one reference read sector by sector through the reader, losses reported. */
  private async salvageRef(r: PlannedRef): Promise<void> {
    const node = this.pending.node(r.file);
    const file = await this.btrfs.fileRef({ subvol: node.subvol, ino: node.ino }, showPath(this.pending.path(r.file)));
    for (let at = 0; at < r.length; at += CHUNK) {
      const n = Math.min(CHUNK, r.length - at);
      const buf = this.chunk.subarray(0, n);
      await this.salvager!.read(file, BigInt(r.fileOffset + at), buf);
      this.write(this.fd(r.file), buf, r.fileOffset + at);
    }
  }

  // --- files ------------------------------------------------------------------------------------

  private write(fd: number, buf: Buffer, position: number): void {
    for (let done = 0; done < buf.length; ) done += writeSync(fd, buf, done, Math.min(WRITE_PIECE, buf.length - done), position + done);
    this.bytes += buf.length;
    this.progress();
  }

  /** Size (holes at the end stay holes), owner and mode where `needs` says, times, then closed. */
  private finishFile(fd: number, path: Buffer, meta: FileMeta, needs: number): void {
    try {
      if (needs & FINISH_TRUNCATE) ftruncateSync(fd, Number(meta.size));
      // chown before chmod: chown clears setuid and setgid. Times last: writes change mtime.
      if (needs & FINISH_CHOWN) fchownSync(fd, meta.uid, meta.gid);
      if (needs & FINISH_CHMOD) fchmodSync(fd, meta.mode & this.modeMask);
      futimesSync(fd, utime(meta.atimeNs), utime(meta.mtimeNs));
    } catch (e) {
      throw new OutputError(path, (e as NodeJS.ErrnoException).code ?? 'EIO', 'cannot set size, owner, mode or times');
    } finally {
      closeSync(fd);
    }
  }

  private keepOpen(file: number, fd: number): void {
    this.open.set(file, fd);
    if (this.open.size > OPEN_FILES) {
      const [oldest, oldFd] = this.open.entries().next().value as [number, number];
      this.open.delete(oldest);
      closeSync(oldFd);
    }
  }

  /** The pending file's descriptor, reopened if it was closed to stay under the limit. */
  private fd(file: number): number {
    let fd = this.open.get(file);
    if (fd === undefined) {
      fd = this.out.reopen(this.pending.path(file));
      this.keepOpen(file, fd);
    }
    return fd;
  }

  private pieceDone(file: number): void {
    if (!this.pending.written(file)) return;
    const fd = this.fd(file);
    this.open.delete(file);
    try {
      this.finishFile(fd, this.pending.path(file), this.pending.meta(file), this.pending.needs(file));
    } catch (e) {
      if (!(e instanceof OutputError) || e.fatal) throw e;
      this.problem(e.message);
    }
  }

  private abandonPending(): void {
    for (const fd of this.open.values()) closeSync(fd);
    this.open.clear();
    for (let i = 0; i < this.pending.size; i++) if (this.pending.pending(i)) this.out.remove(this.pending.path(i));
  }

  // --- 3. xattrs and directories --------------------------------------------------------------

  private async addXattrs(e: WalkEntry, path: Buffer): Promise<void> {
    if (this.xattrs) this.xattrs.add(path, await this.btrfs.xattrsNode(e.node));
  }

  private finishDirectories(): void {
    for (let i = this.dirs.length - 1; i >= 0; i--) {
      const { path, meta } = this.dirs[i]!;
      try {
        if (this.owners) lchownSync(path, meta.uid, meta.gid);
        chmodSync(path, meta.mode & this.modeMask);
        lutimesSync(path, utime(meta.atimeNs), utime(meta.mtimeNs));
      } catch (e) {
        this.problem(new OutputError(path, (e as NodeJS.ErrnoException).code ?? 'EIO', 'cannot set owner, mode or times').message);
      }
    }
  }

  private problem(line: string): void {
    this.report.count++;
    this.options.onProblem?.(line);
  }

  private progress(): void {
    this.options.onProgress?.(this.entries, BigInt(this.bytes));
  }
}

/**
 * A time for utimes. Node takes seconds as a double (sub-microsecond digits are lost) and replaces
 * negative numbers with "now", so times before 1970 go in as a Date (millisecond precision).
 */
function utime(ns: bigint): number | Date {
  return ns >= 0n ? Number(ns) / 1e9 : new Date(Number(ns / 1_000_000n));
}

