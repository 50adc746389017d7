// compsize (1.5) computed from the image. compsize walks the paths in readdir order, entering
// subvolumes (unless one-file-system), and for every regular file it meets (every hard link again)
// reads all the file's EXTENT_DATA items:
//
// - inline: Disk Usage += item bytes after the 21-byte header, Uncompressed and Referenced +=
//   ram_bytes, under the item's compression;
// - regular or prealloc with disk_bytenr != 0: Referenced += num_bytes (every reference); the first
//   time a disk_bytenr is met, Disk Usage += disk_num_bytes and Uncompressed += ram_bytes. Prealloc
//   items count under "prealloc" whatever their compression field, so an extent met first through a
//   prealloc item (partly written preallocation) lands there.

import { CorruptError } from '../errors.js';
import { COMPRESSION_NAMES, KeyType } from '../ondisk/constants.js';
import { decodeFileExtent, INLINE_DATA_START } from '../ondisk/items/file-extent.js';
import { key } from '../ondisk/key.js';
import type { Btrfs } from '../fs/btrfs.js';
import type { FsNode } from '../fs/path.js';
import { kindOfMode } from '../fs/stats.js';
import { MAX_WALK_DEPTH } from '../fs/walk.js';
import { wrapItem } from '../fs/filesystem.js';

/** compsize's slot for preallocated extents: after the 256 possible compression types. */
export const PREALLOC_TYPE = 256;

export interface CompsizeTotals {
  disk: bigint;
  uncompressed: bigint;
  referenced: bigint;
}

export interface CompsizeResult {
  files: bigint;
  extents: bigint;
  refs: bigint;
  inline: bigint;
  total: CompsizeTotals;
  /** Per type in compsize's order (compression 0..255, then prealloc), only those with uncompressed bytes. */
  types: Array<{ type: number; name: string } & CompsizeTotals>;
}

export interface CompsizeOptions {
  /** -x: do not enter other subvolumes (each has its own st_dev). */
  oneFileSystem?: boolean;
  /** Called for each file or directory searched (a progress display). */
  onEntry?: () => void;
}

export function compsizeTypeName(type: number): string {
  if (type === PREALLOC_TYPE) return 'prealloc';
  return COMPRESSION_NAMES[type] ?? `?${type}`;
}

class Workspace {
  readonly disk = new Map<number, bigint>();
  readonly uncomp = new Map<number, bigint>();
  readonly refd = new Map<number, bigint>();
  readonly seen = new Set<bigint>();
  files = 0n;
  extents = 0n;
  refs = 0n;
  inline = 0n;

  add(map: Map<number, bigint>, type: number, n: bigint): void {
    map.set(type, (map.get(type) ?? 0n) + n);
  }
}

const SECTOR_4K = 4096n;

async function doFile(btrfs: Btrfs, node: FsNode, ws: Workspace): Promise<void> {
  ws.files++;
  const tree = await btrfs.tree(node.subvol);
  for await (const it of tree.range(key(node.ino, KeyType.EXTENT_DATA, 0n), key(node.ino, KeyType.EXTENT_DATA, 2n ** 64n - 1n))) {
    const e = wrapItem(() => decodeFileExtent(it.data), node.subvol, it);
    if (e.kind === 'inline') {
      ws.add(ws.disk, e.compression, BigInt(it.data.length - INLINE_DATA_START));
      ws.add(ws.uncomp, e.compression, e.ramBytes);
      ws.add(ws.refd, e.compression, e.ramBytes);
      ws.inline++;
      continue;
    }
    if (e.diskBytenr === 0n) continue;
    if (e.diskBytenr % SECTOR_4K !== 0n) throw new CorruptError(`extent not 4K-aligned at ${e.diskBytenr}`, { tree: node.subvol, block: it.block, slot: it.slot });
    const type = e.kind === 'prealloc' ? PREALLOC_TYPE : e.compression;
    // compsize keys its set by disk_bytenr >> 12.
    const id = e.diskBytenr / SECTOR_4K;
    if (!ws.seen.has(id)) {
      ws.seen.add(id);
      ws.add(ws.disk, type, e.diskNumBytes);
      ws.add(ws.uncomp, type, e.ramBytes);
      ws.extents++;
    }
    ws.add(ws.refd, type, e.numBytes);
    ws.refs++;
  }
}

/** compsize over the given paths (each walked in turn, one set of seen extents for all). */
export async function compsize(btrfs: Btrfs, paths: string[], options: CompsizeOptions = {}): Promise<CompsizeResult> {
  const ws = new Workspace();
  // Directories cannot be hard-linked: one met twice under one argument means a cycle in the image.
  let dirs = new Set<string>();
  const search = async (node: FsNode, path: string, parentSubvol: bigint | undefined, depth: number): Promise<void> => {
    if (options.oneFileSystem && parentSubvol !== undefined && parentSubvol !== node.subvol) return;
    const kind = kindOfMode((await btrfs.facts(node)).mode);
    options.onEntry?.();
    if (kind === 'dir') {
      if (depth >= MAX_WALK_DEPTH) throw new CorruptError(`directory nesting deeper than ${MAX_WALK_DEPTH}`, { path });
      if (!node.placeholder) {
        const id = `${node.subvol}:${node.ino}`;
        if (dirs.has(id)) throw new CorruptError('directory cycle: a directory is reachable twice', { path, tree: node.subvol });
        dirs.add(id);
      }
      for (const d of await btrfs.readdirNode(node, path)) {
        if (d.type !== 'dir' && d.type !== 'file' && d.type !== 'unknown') continue;
        const child = await btrfs.child(node, d.nameBytes);
        if (!child) throw new CorruptError('readdir entry has no matching DIR_ITEM', { path: `${path}/${d.name}`, tree: node.subvol });
        await search(child, `${path}/${d.name}`, node.subvol, depth + 1);
      }
    } else if (kind === 'file') await doFile(btrfs, node, ws);
  };
  // compsize opens each path with O_NOFOLLOW: a symlink named on the command line is skipped.
  for (const p of paths) {
    dirs = new Set();
    await search(await btrfs.node(p, false, 'open'), p, undefined, 0);
  }

  const types: CompsizeResult['types'] = [];
  const total: CompsizeTotals = { disk: 0n, uncompressed: 0n, referenced: 0n };
  for (let t = 0; t <= PREALLOC_TYPE; t++) {
    const u = ws.uncomp.get(t) ?? 0n;
    const d = ws.disk.get(t) ?? 0n;
    const r = ws.refd.get(t) ?? 0n;
    total.disk += d;
    total.uncompressed += u;
    total.referenced += r;
    if (u !== 0n) types.push({ type: t, name: compsizeTypeName(t), disk: d, uncompressed: u, referenced: r });
  }
  return { files: ws.files, extents: ws.extents, refs: ws.refs, inline: ws.inline, total, types };
}
