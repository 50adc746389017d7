// Walking a tree of the view: depth first, each directory's entries sorted by name bytes, the start
// included. A directory reached twice means the image has a directory cycle: an error, not a hang.

import { CorruptError } from '../errors.js';
import type { Btrfs } from './btrfs.js';
import type { FsNode } from './path.js';
import { kindOfMode, type FileKind, type InodeFacts } from './stats.js';

export interface WalkEntry {
  /** Absolute path in the view ("/" for the root). */
  path: string;
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
}

export async function* walk(fs: Btrfs, start = '/', options: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  const startNode = await fs.node(start, options.follow ?? true, 'lstat');
  const normalized = '/' + start.split('/').filter((c) => c && c !== '.').join('/');
  const visited = new Set<string>();
  const stack: WalkEntry[] = [];
  const first = await entryFor(fs, normalized, startNode, 0);
  stack.push(first);
  while (stack.length) {
    const e = stack.pop()!;
    yield e;
    if (e.kind !== 'dir') continue;
    if (options.oneSubvolume && e.node.subvol !== startNode.subvol) continue;
    const id = `${e.node.subvol}:${e.node.ino}:${e.node.placeholder ? 'p' : ''}`;
    if (!e.node.placeholder) {
      if (visited.has(id)) throw new CorruptError('directory cycle: a directory is reachable twice', { path: e.path, tree: e.node.subvol });
      visited.add(id);
    }
    if (e.depth >= MAX_WALK_DEPTH) throw new CorruptError(`directory nesting deeper than ${MAX_WALK_DEPTH}`, { path: e.path });
    const children = (await fs.children(e.node, e.path)).sort((a, b) => Buffer.compare(a.dirent.nameBytes, b.dirent.nameBytes));
    const resolved: WalkEntry[] = [];
    for (const c of children) resolved.push(await entryFor(fs, joinPath(e.path, c.dirent.name), c.node, e.depth + 1));
    for (let i = resolved.length - 1; i >= 0; i--) stack.push(resolved[i]!);
  }
}

async function entryFor(fs: Btrfs, path: string, node: FsNode, depth: number): Promise<WalkEntry> {
  const facts = await fs.facts(node);
  return { path, node, facts, kind: kindOfMode(facts.mode), depth };
}
