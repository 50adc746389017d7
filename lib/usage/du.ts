// `btrfs filesystem du` (btrfs-progs 6.2 cmds/filesystem-du.c) computed from the image:
//
// - Each path argument is walked depth first in readdir order (DIR_INDEX order); only regular files
//   and directories count (symlinks, devices, ... are skipped, as their d_type is neither), subvolumes
//   are entered, and an inode already seen under this argument (a hard link) counts once.
// - A file's Total is the sum of its FIEMAP extents' lengths, inline extents left out; the part whose
//   extents carry FIEMAP_EXTENT_SHARED is its shared bytes, and Exclusive is Total minus those.
//   A directory sums its entries. Rows come out children first, as du prints them.
// - "Set shared" is printed for the arguments only: for a directory the size of the union of the
//   shared extents' physical ranges [fe_physical, fe_physical + fe_length) met below it (so a
//   compressed extent counts with its file length from its disk start, as FIEMAP reports it); for a
//   file its shared bytes.

import { CorruptError } from '../errors.js';
import type { Btrfs } from '../fs/btrfs.js';
import type { FsNode } from '../fs/path.js';
import { kindOfMode } from '../fs/stats.js';
import { MAX_WALK_DEPTH } from '../fs/walk.js';
import { BackrefContext } from '../backref/context.js';
import { fiemap, FiemapFlag } from './fiemap.js';

export interface DuRow {
  /** The argument as given, or the argument joined with the names below it. */
  path: string;
  total: bigint;
  exclusive: bigint;
  /** Only for the argument's own row (null below it, where du prints "-"). */
  setShared: bigint | null;
}

export interface DuOptions {
  /** Only the argument's own row (-s). */
  summarize?: boolean;
  /** Reuse one back reference context across calls. */
  context?: BackrefContext;
  /** Called for each file or directory counted (a progress display). */
  onEntry?: () => void;
}

/** What du skips: inline data takes no data space; delalloc and unknown have no place yet. */
const SKIP_FLAGS = FiemapFlag.UNKNOWN | FiemapFlag.DELALLOC | FiemapFlag.DATA_INLINE;
/** The kernel's stand-in directory for a subvolume not attached at that place has this inode number. */
const EMPTY_SUBVOL_DIR = 2n;

type Interval = [start: bigint, length: bigint];

/** Bytes covered by the union of the intervals. */
export function unionBytes(intervals: Interval[]): bigint {
  const sorted = [...intervals].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let total = 0n;
  let start = -1n;
  let end = -1n;
  for (const [s, len] of sorted) {
    const e = s + len;
    if (start < 0n || s >= end) {
      total += end - start;
      start = s;
      end = e;
    } else if (e > end) end = e;
  }
  return total + (end - start);
}

export function joinDuPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** The rows `btrfs filesystem du` prints for one path argument. */
export async function du(btrfs: Btrfs, path: string, options: DuOptions = {}): Promise<DuRow[]> {
  const ctx = options.context ?? (await BackrefContext.create(btrfs.filesystem));
  const rows: DuRow[] = [];
  const seen = new Set<string>();
  const summarize = options.summarize ?? false;

  const visit = async (node: FsNode, p: string, collector: Interval[] | null, top: boolean, depth: number): Promise<{ total: bigint; shared: bigint }> => {
    const facts = await btrfs.facts(node);
    const kind = kindOfMode(facts.mode);
    if (kind !== 'file' && kind !== 'dir') return { total: 0n, shared: 0n };
    options.onEntry?.();
    if (node.ino !== EMPTY_SUBVOL_DIR) {
      const id = `${node.subvol}:${node.ino}`;
      if (seen.has(id)) return { total: 0n, shared: 0n };
      seen.add(id);
    }
    let total = 0n;
    let shared = 0n;
    let setShared = 0n;
    if (kind === 'file') {
      for (const e of await fiemap(ctx, await btrfs.tree(node.subvol), node.ino)) {
        if (e.flags & SKIP_FLAGS || e.length === 0n) continue;
        total += e.length;
        if (e.flags & FiemapFlag.SHARED) {
          shared += e.length;
          collector?.push([e.physical, e.length]);
        }
      }
      setShared = shared;
    } else {
      if (depth >= MAX_WALK_DEPTH) throw new CorruptError(`directory nesting deeper than ${MAX_WALK_DEPTH}`, { path: p });
      const mine: Interval[] | null = top ? [] : collector;
      for (const d of await btrfs.readdirNode(node, p)) {
        if (d.type !== 'file' && d.type !== 'dir') continue;
        const child = await btrfs.child(node, d.nameBytes);
        if (!child) throw new CorruptError('readdir entry has no matching DIR_ITEM', { path: joinDuPath(p, d.name), tree: node.subvol });
        const r = await visit(child, joinDuPath(p, d.name), mine, false, depth + 1);
        total += r.total;
        shared += r.shared;
      }
      if (top) setShared = unionBytes(mine!);
    }
    if (!summarize || top) rows.push({ path: p, total, exclusive: total - shared, setShared: top ? setShared : null });
    return { total, shared };
  };

  await visit(await btrfs.node(path, true, 'stat'), path, null, true, 0);
  return rows;
}
