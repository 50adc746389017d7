// Walking a tree of the view: depth first, each directory's entries sorted by name bytes, the start
// included. A directory reached twice means the image has a directory cycle: an error, not a hang.
//
// With `onError` the walk reads through damage: an entry whose inode cannot be read, a directory whose
// listing breaks off, a cycle or a nesting too deep is reported and skipped, and a directory whose
// DIR_INDEX items are damaged is listed from what survives of them and of its DIR_ITEMs (the kernel
// keeps every name in both).

import { BtrfsError, CorruptError } from '../errors.js';
import { KeyType } from '../ondisk/constants.js';
import { decodeDirItems, type DirEntry } from '../ondisk/items/dir-item.js';
import { key, U64_MAX } from '../ondisk/key.js';
import type { Btrfs } from './btrfs.js';
import { eachDirEntry } from './inode.js';
import type { FsNode } from './path.js';
import { kindOfMode, type FileKind, type InodeFacts } from './stats.js';

export interface WalkEntry {
  /** Absolute path in the view ("/" for the root), names decoded as UTF-8 (for messages). */
  path: string;
  /** The entry's own name as stored (bytes, not necessarily UTF-8); the start's last path component. */
  name: Buffer;
  node: FsNode;
  facts: InodeFacts;
  kind: FileKind;
  depth: number;
}

export const MAX_WALK_DEPTH = 4096;

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export interface WalkOptions {
  /** Follow a symlink given as the start (default true). */
  follow?: boolean;
  /** Like tar --one-file-system: show other subvolumes' root directories but do not descend into them. */
  oneSubvolume?: boolean;
  /** Do not list the children of entries this deep (the start is depth 0). */
  maxDepth?: number;
  /** Read through damage: report each problem here and go on (default: the first problem throws). */
  onError?: (path: string, error: BtrfsError) => void;
}

interface Child {
  name: Buffer;
  node: FsNode;
}

export async function* walk(fs: Btrfs, start = '/', options: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  const onError = options.onError;
  /** Report and skip when reading through damage; otherwise rethrow. Non-library errors always rethrow. */
  const tolerate = (path: string, e: unknown): void => {
    if (!onError || !(e instanceof BtrfsError)) throw e;
    onError(path, e);
  };
  const startNode = await fs.node(start, options.follow ?? true, 'lstat');
  const normalized = '/' + start.split('/').filter((c) => c && c !== '.').join('/');
  const visited = new Set<string>();
  // Children waiting to be visited hold only their name and node: their inodes are read when they
  // come up, so a listed directory costs little memory until its entries are visited.
  const stack: Array<{ dir: WalkEntry; child: Child }> = [];
  let next: WalkEntry | undefined = await entryFor(fs, normalized, startNode, 0, Buffer.from(normalized.slice(normalized.lastIndexOf('/') + 1), 'utf8'));
  for (;;) {
    if (!next) {
      const pending = stack.pop();
      if (!pending) break;
      const { dir, child: c } = pending;
      const path = joinPath(dir.path, c.name.toString('utf8'));
      try {
        // A name with a slash or NUL, or "." or "..", would make every path below it lie (and could
        // lead an extraction out of its folder): the kernel never writes one.
        if (!validName(c.name)) throw new CorruptError(`invalid file name ${JSON.stringify(c.name.toString('utf8'))}`, { path: dir.path, tree: dir.node.subvol });
        next = await entryFor(fs, path, c.node, dir.depth + 1, c.name);
      } catch (err) {
        tolerate(path, err);
        continue;
      }
    }
    const e: WalkEntry = next;
    next = undefined;
    yield e;
    if (e.kind !== 'dir') continue;
    if (options.maxDepth !== undefined && e.depth >= options.maxDepth) continue;
    if (options.oneSubvolume && e.node.subvol !== startNode.subvol) continue;
    const id = `${e.node.subvol}:${e.node.ino}:${e.node.placeholder ? 'p' : ''}`;
    try {
      if (!e.node.placeholder) {
        if (visited.has(id)) throw new CorruptError('directory cycle: a directory is reachable twice', { path: e.path, tree: e.node.subvol });
        visited.add(id);
      }
      if (e.depth >= MAX_WALK_DEPTH) throw new CorruptError(`directory nesting deeper than ${MAX_WALK_DEPTH}`, { path: e.path });
    } catch (err) {
      tolerate(e.path, err);
      continue;
    }
    const children = (await listChildren(fs, e, onError ? tolerate : undefined)).sort((a, b) => Buffer.compare(a.name, b.name));
    for (let i = children.length - 1; i >= 0; i--) stack.push({ dir: e, child: children[i]! });
  }
}

function validName(name: Buffer): boolean {
  if (name.length === 0 || name.includes(0x2f) || name.includes(0)) return false;
  return !(name.length <= 2 && name.every((b) => b === 0x2e));
}

async function entryFor(fs: Btrfs, path: string, node: FsNode, depth: number, name: Buffer): Promise<WalkEntry> {
  const facts = await fs.facts(node);
  return { path, name, node, facts, kind: kindOfMode(facts.mode), depth };
}

async function listChildren(fs: Btrfs, e: WalkEntry, tolerate?: (path: string, e: unknown) => void): Promise<Child[]> {
  try {
    return (await fs.children(e.node, e.path)).map((c) => ({ name: c.dirent.nameBytes, node: c.node }));
  } catch (err) {
    if (!tolerate) throw err;
    tolerate(e.path, err);
  }
  return salvageChildren(fs, e, tolerate);
}

/** The names that survive in DIR_INDEX and DIR_ITEM items, each entered as far as it can be. */
async function salvageChildren(fs: Btrfs, e: WalkEntry, tolerate: (path: string, e: unknown) => void): Promise<Child[]> {
  const dir = e.node;
  const found = new Map<string, DirEntry>();
  let tree;
  try {
    tree = await fs.tree(dir.subvol);
  } catch (err) {
    tolerate(e.path, err);
    return [];
  }
  // Whatever the first attempt reported is not reported again: one line per damaged listing.
  try {
    await eachDirEntry(tree, dir.ino, (d) => found.set(d.name.toString('hex'), d));
  } catch (err) {
    if (!(err instanceof BtrfsError)) throw err;
  }
  try {
    for await (const it of tree.range(key(dir.ino, KeyType.DIR_ITEM, 0n), key(dir.ino, KeyType.DIR_ITEM, U64_MAX))) {
      let entries: DirEntry[];
      try {
        entries = decodeDirItems(it.data);
      } catch (err) {
        if (!(err instanceof BtrfsError)) throw err;
        continue;
      }
      for (const d of entries) if (!found.has(d.name.toString('hex'))) found.set(d.name.toString('hex'), d);
    }
  } catch (err) {
    if (!(err instanceof BtrfsError)) throw err;
  }
  const out: Child[] = [];
  for (const d of found.values()) {
    if (d.name.length === 0) continue;
    const path = joinPath(e.path, d.name.toString('utf8'));
    try {
      // A plain inode entry needs nothing more; a subvolume entry is entered the way a lookup does.
      const node = d.location.type === KeyType.INODE_ITEM ? { subvol: dir.subvol, ino: d.location.objectid } : await fs.child(dir, d.name);
      if (node) out.push({ name: d.name, node });
      else tolerate(path, new CorruptError('directory entry has no matching DIR_ITEM', { path, tree: dir.subvol }));
    } catch (err) {
      tolerate(path, err);
    }
  }
  return out;
}
