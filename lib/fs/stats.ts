// stat() results shaped like node:fs Stats (numbers) and BigIntStats (bigint, with nanoseconds).

import { timespecToNs, type InodeItem } from '../ondisk/items/inode-item.js';

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

export type FileKind = 'file' | 'dir' | 'symlink' | 'fifo' | 'chr' | 'blk' | 'sock' | 'unknown';

export function kindOfMode(mode: number): FileKind {
  switch (mode & S_IFMT) {
    case S_IFREG: return 'file';
    case S_IFDIR: return 'dir';
    case S_IFLNK: return 'symlink';
    case S_IFIFO: return 'fifo';
    case S_IFCHR: return 'chr';
    case S_IFBLK: return 'blk';
    case S_IFSOCK: return 'sock';
    default: return 'unknown';
  }
}

/** Btrfs stores the kernel's internal dev_t: MKDEV(major, minor) = major << 20 | minor. */
export function decodeRdev(rdev: bigint): { major: number; minor: number } {
  return { major: Number((rdev >> 20n) & 0xfffn), minor: Number(rdev & 0xfffffn) };
}

/** Linux's 64-bit dev_t, as glibc's makedev builds it (what Node reports as rdev). */
export function makedev(major: number, minor: number): bigint {
  const M = BigInt(major);
  const m = BigInt(minor);
  return ((M & 0xfffff000n) << 32n) | ((M & 0xfffn) << 8n) | ((m & 0xffffff00n) << 12n) | (m & 0xffn);
}

/** major and minor of a glibc dev_t. */
export function splitDev(dev: bigint): { major: number; minor: number } {
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & 0xffffff00n)),
  };
}

/** The inode's facts, independent of number representation. */
export interface InodeFacts {
  subvol: bigint;
  ino: bigint;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: bigint;
  size: bigint;
  nbytes: bigint;
  blksize: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint;
  generation: bigint;
  flags: bigint;
}

export function factsFromInode(subvol: bigint, ino: bigint, item: InodeItem, blksize: number): InodeFacts {
  const { major, minor } = decodeRdev(item.rdev);
  const kind = item.mode & S_IFMT;
  return {
    subvol, ino, mode: item.mode, nlink: item.nlink, uid: item.uid, gid: item.gid,
    rdev: kind === S_IFCHR || kind === S_IFBLK ? makedev(major, minor) : 0n,
    size: item.size, nbytes: item.nbytes, blksize,
    atimeNs: timespecToNs(item.atime), mtimeNs: timespecToNs(item.mtime), ctimeNs: timespecToNs(item.ctime), birthtimeNs: timespecToNs(item.otime),
    generation: item.generation, flags: item.flags,
  };
}

abstract class StatsBase<T extends number | bigint> {
  abstract readonly mode: T;
  private kind(): number {
    return Number(this.mode) & S_IFMT;
  }
  isFile(): boolean { return this.kind() === S_IFREG; }
  isDirectory(): boolean { return this.kind() === S_IFDIR; }
  isSymbolicLink(): boolean { return this.kind() === S_IFLNK; }
  isFIFO(): boolean { return this.kind() === S_IFIFO; }
  isCharacterDevice(): boolean { return this.kind() === S_IFCHR; }
  isBlockDevice(): boolean { return this.kind() === S_IFBLK; }
  isSocket(): boolean { return this.kind() === S_IFSOCK; }
}

/** Like fs.Stats, plus `subvol` (the subvolume id holding the inode). dev is the subvolume id. */
export class BtrfsStats extends StatsBase<number> {
  readonly dev: number; readonly ino: number; readonly mode: number; readonly nlink: number;
  readonly uid: number; readonly gid: number; readonly rdev: number; readonly size: number;
  readonly blksize: number; readonly blocks: number;
  readonly atimeMs: number; readonly mtimeMs: number; readonly ctimeMs: number; readonly birthtimeMs: number;
  readonly atime: Date; readonly mtime: Date; readonly ctime: Date; readonly birthtime: Date;
  readonly subvol: number;
  constructor(f: InodeFacts) {
    super();
    const ms = (ns: bigint) => Number(ns) / 1e6;
    this.dev = Number(f.subvol); this.subvol = Number(f.subvol); this.ino = Number(f.ino); this.mode = f.mode;
    this.nlink = f.nlink; this.uid = f.uid; this.gid = f.gid; this.rdev = Number(f.rdev); this.size = Number(f.size);
    this.blksize = f.blksize; this.blocks = Number(blocksOf(f));
    this.atimeMs = ms(f.atimeNs); this.mtimeMs = ms(f.mtimeNs); this.ctimeMs = ms(f.ctimeNs); this.birthtimeMs = ms(f.birthtimeNs);
    this.atime = new Date(this.atimeMs); this.mtime = new Date(this.mtimeMs); this.ctime = new Date(this.ctimeMs); this.birthtime = new Date(this.birthtimeMs);
  }
}

/** Like fs.BigIntStats: every number a bigint, times also in nanoseconds. */
export class BtrfsBigIntStats extends StatsBase<bigint> {
  readonly dev: bigint; readonly ino: bigint; readonly mode: bigint; readonly nlink: bigint;
  readonly uid: bigint; readonly gid: bigint; readonly rdev: bigint; readonly size: bigint;
  readonly blksize: bigint; readonly blocks: bigint;
  readonly atimeNs: bigint; readonly mtimeNs: bigint; readonly ctimeNs: bigint; readonly birthtimeNs: bigint;
  readonly atimeMs: bigint; readonly mtimeMs: bigint; readonly ctimeMs: bigint; readonly birthtimeMs: bigint;
  readonly atime: Date; readonly mtime: Date; readonly ctime: Date; readonly birthtime: Date;
  readonly subvol: bigint;
  constructor(f: InodeFacts) {
    super();
    const ms = (ns: bigint) => floorDiv(ns, 1_000_000n);
    this.dev = f.subvol; this.subvol = f.subvol; this.ino = f.ino; this.mode = BigInt(f.mode);
    this.nlink = BigInt(f.nlink); this.uid = BigInt(f.uid); this.gid = BigInt(f.gid); this.rdev = f.rdev; this.size = f.size;
    this.blksize = BigInt(f.blksize); this.blocks = blocksOf(f);
    this.atimeNs = f.atimeNs; this.mtimeNs = f.mtimeNs; this.ctimeNs = f.ctimeNs; this.birthtimeNs = f.birthtimeNs;
    this.atimeMs = ms(f.atimeNs); this.mtimeMs = ms(f.mtimeNs); this.ctimeMs = ms(f.ctimeNs); this.birthtimeMs = ms(f.birthtimeNs);
    this.atime = new Date(Number(this.atimeMs)); this.mtime = new Date(Number(this.mtimeMs));
    this.ctime = new Date(Number(this.ctimeMs)); this.birthtime = new Date(Number(this.birthtimeMs));
  }
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

/** st_blocks as btrfs reports it: inode bytes rounded up to the block size, in 512-byte units. */
function blocksOf(f: InodeFacts): bigint {
  const bs = BigInt(f.blksize);
  return ((f.nbytes + bs - 1n) / bs) * bs / 512n;
}
