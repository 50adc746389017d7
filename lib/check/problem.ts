// What `check` reports: one problem per damaged copy (or missing device, or broken structure), each
// with where it is, and the running counts of what was verified.

import { BtrfsError, formatLocation, type Location } from '../errors.js';

export type ProblemKind =
  /** The filesystem could not be opened at all (from any superblock copy). */
  | 'open'
  /** A superblock copy: bad magic, checksum, bytenr, fsid, or an older generation. */
  | 'superblock'
  /** A member device that is not there. */
  | 'device'
  /** One copy of a tree block failed (checksum, header, tree-checker, read error). */
  | 'tree-block'
  /** A tree's shape is wrong across blocks (no good copy, keys outside the parent's range, a loop). */
  | 'tree'
  /** One copy of data sectors failed their checksum or could not be read. */
  | 'data'
  /** RAID5/6 parity that does not match its data stripes. */
  | 'parity';

export interface OwningFile {
  subvol: bigint;
  ino: bigint;
  /** Offset in the file of the first damaged byte this file holds. */
  fileOffset: bigint;
  /** Path from the top level; undefined when the inode's names could not be resolved. */
  path?: string;
}

export interface CheckProblem {
  kind: ProblemKind;
  /** What is wrong, without the location (that is in the fields). */
  message: string;
  /** The library error code behind it (EBTRFSCSUM, EBTRFSCORRUPT, EIO, ...). */
  code: string;
  device?: string;
  devid?: bigint;
  physical?: bigint;
  logical?: bigint;
  /** Bytes affected, for runs of data sectors. */
  length?: bigint;
  mirror?: number;
  tree?: bigint;
  /** Another copy (or a rebuild from parity) has good bytes for everything this problem covers. */
  repairable?: boolean;
  files?: OwningFile[];
}

export interface CheckStats {
  devices: number;
  missingDevices: number;
  superblocks: number;
  treeBlocks: number;
  treeBlockCopies: number;
  dataSectors: number;
  dataSectorCopies: number;
  parityRows: number;
  /** Copies not verified because their device is missing. */
  skippedCopies: number;
}

/** A problem list that stops growing at a cap, so a wrecked image cannot exhaust memory. */
export class ProblemLog {
  readonly problems: CheckProblem[] = [];
  dropped = 0;
  readonly stats: CheckStats = {
    devices: 0, missingDevices: 0, superblocks: 0, treeBlocks: 0, treeBlockCopies: 0, dataSectors: 0, dataSectorCopies: 0, parityRows: 0, skippedCopies: 0,
  };

  /** Told of the running counts as work is done (a progress display); called often, so cheap. */
  onProgress: ((stats: Readonly<CheckStats>) => void) | undefined;

  constructor(readonly max = 100_000) {}

  progressed(): void {
    this.onProgress?.(this.stats);
  }

  add(p: CheckProblem): CheckProblem {
    if (this.problems.length < this.max) this.problems.push(p);
    else this.dropped++;
    return p;
  }

  get count(): number {
    return this.problems.length + this.dropped;
  }
}

/** The message of a library error without the location suffix BtrfsError appends. */
export function bareMessage(e: unknown): string {
  if (!(e instanceof BtrfsError)) return e instanceof Error ? e.message : String(e);
  const where = formatLocation(e.location);
  return where && e.message.endsWith(`: ${where}`) ? e.message.slice(0, -where.length - 2) : e.message;
}

export function errorCode(e: unknown): string {
  return e instanceof BtrfsError ? e.code : 'EINTERNAL';
}

/** A problem from a library error, its location fields merged under the ones given. */
export function problemFrom(kind: ProblemKind, e: unknown, at: Partial<CheckProblem> = {}): CheckProblem {
  const loc: Location = e instanceof BtrfsError ? e.location : {};
  const p: CheckProblem = { kind, message: bareMessage(e), code: errorCode(e) };
  if (loc.device !== undefined) p.device = loc.device;
  if (loc.devid !== undefined) p.devid = BigInt(loc.devid);
  if (loc.physical !== undefined) p.physical = loc.physical;
  if (loc.logical !== undefined) p.logical = loc.logical;
  if (loc.mirror !== undefined) p.mirror = loc.mirror;
  if (typeof loc.tree === 'bigint') p.tree = loc.tree;
  return { ...p, ...definedOnly(at) };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** One line, the way the CLI prints a problem. */
export function formatProblem(p: CheckProblem): string {
  const where: string[] = [];
  if (p.device !== undefined) where.push(`device=${p.device}`);
  if (p.devid !== undefined) where.push(`devid=${p.devid}`);
  if (p.physical !== undefined) where.push(`physical=${p.physical}`);
  if (p.logical !== undefined) where.push(`logical=${p.logical}`);
  if (p.length !== undefined) where.push(`length=${p.length}`);
  if (p.tree !== undefined) where.push(`tree=${p.tree}`);
  if (p.mirror !== undefined) where.push(`mirror=${p.mirror}`);
  let line = `${p.kind}: ${p.message}`;
  if (where.length) line += ` [${where.join(' ')}]`;
  if (p.repairable !== undefined) line += p.repairable ? ' (another copy is good)' : ' (no good copy)';
  if (p.files?.length) {
    const shown = p.files.slice(0, 8).map((f) => `${f.path ?? `subvol ${f.subvol} inode ${f.ino}`} @${f.fileOffset}`);
    line += ` files: ${shown.join(', ')}${p.files.length > 8 ? `, ... (${p.files.length})` : ''}`;
  }
  return line;
}
