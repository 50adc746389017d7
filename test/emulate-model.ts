// Test oracles for the emulator, independent of it:
// - scanExtents: what read-all must cost, counted from the fixture's file extent items (cross-checked
//   against compsize's counts, which the kernel's TREE_SEARCH gave when the fixture was made);
// - ContentModel: every file's bytes as plain buffers, changed by each operation the obvious way;
// - randomTrace: a seeded workload of valid operations of every kind.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Btrfs } from '../lib/fs/btrfs.js';
import type { Op } from '../lib/emulate/trace.js';
import { FIXTURES_DIR } from './helpers/fixtures.js';
import type { Manifest } from './helpers/manifest.js';

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** compsize's summary line from the fixture, if it printed one. */
export function compsizeCounts(name: string): { files: number; extents: number; refs: number; inline: number } | undefined {
  const text = readFileSync(join(FIXTURES_DIR, name, 'compsize.txt'), 'utf8');
  const m = /^Processed (\d+) files, (\d+) regular extents \((\d+) refs\), (\d+) inline\./m.exec(text);
  return m ? { files: Number(m[1]), extents: Number(m[2]), refs: Number(m[3]), inline: Number(m[4]) } : undefined;
}

export interface ExtentScan {
  /** compsize's view: every file extent item of every path (hard links again), items past EOF included. */
  pathCount: number;
  distinctExtents: number;
  refs: number;
  inline: number;
  /** read-all's view (within EOF, each inode once). */
  compressedExtents: Map<bigint, bigint>; // disk_bytenr -> disk_num_bytes
  compressedItemRefs: number;
  compressedItemDiskBytes: number;
  compressedInlineInodes: number;
  /** Distinct uncompressed on-disk sectors read, and per inode (summed). */
  distinctSectors: number;
  inodeSectors: number;
  /** Some on-disk data is reached by two (inode, page)s, or a compressed extent by two file extent items. */
  sharing: boolean;
  /** Paths of two different inodes that share on-disk data. */
  sharedPairs: Array<[string, string]>;
}

/** Count what reading every regular file reads, from the file extent items. */
export async function scanExtents(fs: Btrfs, manifest: Manifest): Promise<ExtentScan> {
  const S = BigInt(manifest.sectorsize);
  const scan: ExtentScan = {
    pathCount: 0, distinctExtents: 0, refs: 0, inline: 0, compressedExtents: new Map(), compressedItemRefs: 0, compressedItemDiskBytes: 0,
    compressedInlineInodes: 0, distinctSectors: 0, inodeSectors: 0, sharing: false, sharedPairs: [],
  };
  const allExtents = new Set<bigint>();
  const sectorUses = new Map<bigint, number>();
  const compressedUses = new Map<bigint, number>();
  const seen = new Set<string>();
  const holders = new Map<string, Set<string>>();
  const hold = (what: string, path: string) => {
    let h = holders.get(what);
    if (!h) holders.set(what, (h = new Set()));
    h.add(path);
  };
  for (const e of manifest.entries) {
    if (e.type !== 'file') continue;
    scan.pathCount++;
    const { extents, size } = await fs.fileExtents(e.path);
    for (const x of extents) {
      if (x.extent.kind === 'inline') scan.inline++;
      else if (x.extent.diskBytenr !== 0n) {
        scan.refs++;
        allExtents.add(x.extent.diskBytenr);
      }
    }
    const id = `${e.subvol}:${e.ino}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const eofPage = (size + S - 1n) / S;
    for (const x of extents) {
      const ex = x.extent;
      if (ex.kind === 'inline') {
        if (ex.compression !== 0 && size > 0n) scan.compressedInlineInodes++;
        continue;
      }
      if (ex.kind !== 'regular' || ex.diskBytenr === 0n) continue;
      const first = x.fileOffset / S;
      const end = (x.fileOffset + x.length) / S < eofPage ? (x.fileOffset + x.length) / S : eofPage;
      if (end <= first) continue;
      if (ex.compression !== 0) {
        scan.compressedExtents.set(ex.diskBytenr, ex.diskNumBytes);
        scan.compressedItemRefs++;
        scan.compressedItemDiskBytes += Number(ex.diskNumBytes);
        compressedUses.set(ex.diskBytenr, (compressedUses.get(ex.diskBytenr) ?? 0) + 1);
        hold(`C${ex.diskBytenr}`, e.path);
        continue;
      }
      for (let p = first; p < end; p++) {
        const sector = ex.diskBytenr + ex.offset + p * S - x.fileOffset;
        sectorUses.set(sector, (sectorUses.get(sector) ?? 0) + 1);
        hold(`L${sector}`, e.path);
        scan.inodeSectors++;
      }
    }
  }
  scan.distinctExtents = allExtents.size;
  scan.distinctSectors = sectorUses.size;
  scan.sharing = [...sectorUses.values(), ...compressedUses.values()].some((n) => n > 1);
  const pairs = new Set<string>();
  for (const h of holders.values()) {
    const paths = [...h].sort();
    for (let i = 0; i < paths.length; i++) for (let j = 0; j < paths.length; j++) if (i !== j) pairs.add(`${paths[i]}\0${paths[j]}`);
  }
  scan.sharedPairs = [...pairs].sort().map((p) => p.split('\0') as [string, string]);
  return scan;
}

// --- a model of file contents ----------------------------------------------------------------------

interface ModelFile {
  content: Buffer;
  nodatasum: boolean;
}

interface ModelEntry {
  file: ModelFile;
  subvol: number;
}

export class ContentModel {
  readonly entries = new Map<string, ModelEntry>();
  readonly readonly = new Set<number>();
  /** Subvolume roots by path, with their ids (the top level is "/"). */
  readonly subvolRoots = new Map<string, number>();
  private nextSubvol = 1_000_000;

  private constructor(readonly sectorsize: number) {}

  /** Every regular file of the manifest, read through `fs` and checked against the kernel's sha256. */
  static async load(fs: Btrfs, manifest: Manifest): Promise<ContentModel> {
    const model = new ContentModel(manifest.sectorsize);
    const byInode = new Map<string, ModelFile>();
    for (const s of manifest.subvolumes) {
      if (s.readonly) model.readonly.add(s.id);
      model.subvolRoots.set('/' + s.path, s.id);
    }
    model.subvolRoots.set('/', 5);
    for (const e of manifest.entries) {
      if (e.type !== 'file') continue;
      const id = `${e.subvol}:${e.ino}`;
      let file = byInode.get(id);
      if (!file) {
        const content = await fs.readFile(e.path);
        if (sha256(content) !== e.sha256) throw new Error(`${e.path}: the uncached reader disagrees with the manifest`);
        const facts = await fs.facts(await fs.node(e.path, false));
        file = { content, nodatasum: (facts.flags & 1n) !== 0n };
        byInode.set(id, file);
      }
      model.entries.set(e.path, { file, subvol: e.subvol });
    }
    return model;
  }

  paths(): string[] {
    return [...this.entries.keys()].sort();
  }

  entry(path: string): ModelEntry {
    const e = this.entries.get(path);
    if (!e) throw new Error(`model: no file ${path}`);
    return e;
  }

  writable(path: string): boolean {
    return !this.readonly.has(this.entry(path).subvol);
  }

  /** What a reading operation must return: [offset, bytes]. */
  expected(op: Op): { offset: number; data: Buffer } | undefined {
    const S = this.sectorsize;
    switch (op.op) {
      case 'read':
      case 'dio-read': {
        const c = this.entry(op.path).file.content;
        return { offset: op.offset, data: c.subarray(Math.min(op.offset, c.length), Math.min(c.length, op.offset + op.length)) };
      }
      case 'mmap-read': {
        const c = this.entry(op.path).file.content;
        const start = Math.floor(op.offset / S) * S;
        return { offset: start, data: c.subarray(start, Math.min(c.length, start + S)) };
      }
      default:
        return undefined;
    }
  }

  apply(op: Op): void {
    switch (op.op) {
      case 'write':
      case 'dio-write':
        this.put(op.path, op.offset, op.data!);
        return;
      case 'mmap-write':
        this.put(op.path, op.offset, op.data!);
        return;
      case 'truncate': {
        const f = this.entry(op.path).file;
        f.content = resized(f.content, op.size);
        return;
      }
      case 'unlink':
        this.entries.delete(op.path);
        return;
      case 'reflink': {
        const src = this.entry(op.src).file;
        const len = op.length === 0 ? src.content.length - op.src_offset : op.length;
        let dst = this.entries.get(op.dst);
        if (!dst) {
          dst = { file: { content: Buffer.alloc(0), nodatasum: src.nodatasum }, subvol: this.subvolOfDir(op.dst) };
          this.entries.set(op.dst, dst);
        }
        this.put(op.dst, op.dst_offset, Buffer.from(src.content.subarray(op.src_offset, op.src_offset + len)));
        return;
      }
      case 'snapshot': {
        const from = this.subvolRoots.get(op.src)!;
        const id = this.nextSubvol++;
        const prefix = op.src === '/' ? '/' : op.src + '/';
        const copies = new Map<ModelFile, ModelFile>();
        for (const [path, e] of [...this.entries]) {
          if (e.subvol !== from || !path.startsWith(prefix)) continue;
          let copy = copies.get(e.file);
          if (!copy) copies.set(e.file, (copy = { content: Buffer.from(e.file.content), nodatasum: e.file.nodatasum }));
          this.entries.set(op.dst + '/' + path.slice(prefix.length), { file: copy, subvol: id });
        }
        this.subvolRoots.set(op.dst, id);
        if (op.readonly) this.readonly.add(id);
        return;
      }
      default:
        return;
    }
  }

  private subvolOfDir(path: string): number {
    const dir = path.slice(0, path.lastIndexOf('/')) || '/';
    for (const [p, e] of this.entries) if ((p.slice(0, p.lastIndexOf('/')) || '/') === dir) return e.subvol;
    throw new Error(`model: no known file in ${dir}`);
  }

  private put(path: string, offset: number, data: Buffer): void {
    const f = this.entry(path).file;
    if (offset + data.length > f.content.length) f.content = resized(f.content, offset + data.length);
    data.copy(f.content, offset);
  }
}

function resized(b: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size);
  b.copy(out, 0, 0, Math.min(size, b.length));
  return out;
}

// --- random workloads ---------------------------------------------------------------------------------

import { prng } from './helpers/prng.js';

export { prng };

export interface TraceOptions {
  seed: number;
  count: number;
  /** Operations that may create sharing (reflink, snapshot): off for the "no sharing" invariant. */
  sharing?: boolean;
  /** Files never written (a write into the middle of a compressed extent splits it: two references). */
  readOnly?: ReadonlySet<string>;
}

/**
 * A valid workload for `model`'s files, applied to the model as it is generated (so the caller gets
 * the operations and a model of the end state; use a fresh model to replay).
 */
export function randomTrace(model: ContentModel, options: TraceOptions): Op[] {
  const rnd = prng(options.seed);
  const S = model.sectorsize;
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T | undefined => (xs.length ? xs[int(xs.length)] : undefined);
  const bytes = (n: number) => {
    const b = Buffer.alloc(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) b.writeUInt32LE((rnd() * 2 ** 32) >>> 0, i);
    for (; i < n; i++) b[i] = int(256);
    return b;
  };
  const ops: Op[] = [];
  let snapshots = 0;
  let created = 0;
  const sizeOf = (p: string) => model.entry(p).file.content.length;
  while (ops.length < options.count) {
    const files = model.paths();
    const writable = files.filter((p) => model.writable(p) && !options.readOnly?.has(p));
    const nonEmpty = files.filter((p) => sizeOf(p) > 0);
    const r = rnd();
    let op: Op | undefined;
    if (r < 0.28) {
      const path = pick(files);
      if (path) {
        const size = sizeOf(path);
        op = { op: 'read', path, offset: int(size + S), length: 1 + int(3 * S * 8) };
      }
    } else if (r < 0.42) {
      const path = pick(writable);
      if (path) {
        const size = sizeOf(path);
        const length = 1 + int(rnd() < 0.5 ? S : 6 * S);
        op = { op: 'write', path, offset: int(size + 2 * S), length, data: bytes(length) };
      }
    } else if (r < 0.47) {
      const path = pick(files);
      if (path) {
        const aligned = rnd() < 0.7;
        const offset = aligned ? int(Math.ceil(sizeOf(path) / S) + 1) * S : int(sizeOf(path) + S);
        op = { op: 'dio-read', path, offset, length: aligned ? (1 + int(8)) * S : 1 + int(4 * S) };
      }
    } else if (r < 0.52) {
      const path = pick(writable);
      if (path) {
        const aligned = rnd() < 0.7;
        const offset = aligned ? int(Math.ceil(sizeOf(path) / S) + 2) * S : int(sizeOf(path) + S);
        const length = aligned ? (1 + int(4)) * S : 1 + int(2 * S);
        op = { op: 'dio-write', path, offset, length, data: bytes(length) };
      }
    } else if (r < 0.6) {
      const path = pick(nonEmpty);
      if (path) op = { op: 'mmap-read', path, offset: int(sizeOf(path)) };
    } else if (r < 0.66) {
      const path = pick(nonEmpty.filter((p) => writable.includes(p)));
      if (path) {
        const size = sizeOf(path);
        const offset = int(size);
        const room = Math.min(S - (offset % S), size - offset);
        op = { op: 'mmap-write', path, offset, data: bytes(1 + int(Math.min(room, 64))) };
      }
    } else if (r < 0.72) {
      const path = pick(files);
      if (path) op = { op: 'fsync', path };
    } else if (r < 0.77) {
      const path = pick(writable);
      if (path) op = { op: 'truncate', path, size: int(Math.floor(sizeOf(path) * 1.5) + S) };
    } else if (r < 0.86) {
      if (options.sharing !== false) op = reflinkOp();
    } else if (r < 0.89) {
      if (options.sharing !== false && snapshots < 2) {
        const roots = [...model.subvolRoots.keys()].filter((p) => files.some((f) => f.startsWith(p === '/' ? '/' : p + '/')));
        const src = pick(roots.sort());
        if (src) {
          snapshots++;
          op = { op: 'snapshot', src, dst: `/emu-snap-${options.seed}-${snapshots}`, readonly: rnd() < 0.3 };
        }
      }
    } else if (r < 0.93) {
      const path = pick(writable);
      if (path && writable.length > 2) op = { op: 'unlink', path };
    } else {
      op = { op: 'drop-caches' };
    }
    if (!op) continue;
    model.apply(op);
    ops.push(op);
  }
  return ops;

  function reflinkOp(): Op | undefined {
    const files = model.paths();
    const src = pick(files.filter((p) => sizeOf(p) > 0));
    if (!src) return undefined;
    const srcSize = sizeOf(src);
    const srcOff = int(Math.ceil(srcSize / S)) * S;
    if (srcOff >= srcSize) return undefined;
    const toEof = rnd() < 0.5;
    let length = toEof ? 0 : (1 + int(Math.max(1, Math.floor((srcSize - srcOff) / S)))) * S;
    if (!toEof && srcOff + length > srcSize) length = 0;
    const len = length === 0 ? srcSize - srcOff : length;
    const targets = files.filter((p) => p !== src && model.writable(p) && model.entry(p).file.nodatasum === model.entry(src).file.nodatasum && model.entry(p).file !== model.entry(src).file);
    const existing = rnd() < 0.5 ? pick(targets) : undefined;
    if (existing) {
      const dstSize = sizeOf(existing);
      let dstOff = int(Math.ceil(dstSize / S) + 2) * S;
      if (len % S !== 0 && dstOff + len < dstSize) dstOff = Math.ceil(dstSize / S) * S;
      return { op: 'reflink', src, dst: existing, src_offset: srcOff, dst_offset: dstOff, length };
    }
    const sibling = pick(files.filter((p) => model.writable(p)));
    if (!sibling) return undefined;
    const dir = sibling.slice(0, sibling.lastIndexOf('/'));
    return { op: 'reflink', src, dst: `${dir}/emu-reflink-${options.seed}-${++created}`, src_offset: srcOff, dst_offset: 0, length };
  }
}
