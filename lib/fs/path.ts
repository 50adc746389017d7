// Walking a path the way the kernel does from a mount of one subvolume: components resolved one by
// one, ".." by popping, subvolume entries crossed into their tree (or shown as the kernel's empty
// placeholder directory when the subvolume is not attached there), symlinks followed at most 40 times.

import { PathError } from '../errors.js';
import { FileType, KeyType, NAME_LEN } from '../ondisk/constants.js';
import type { DirEntry } from '../ondisk/items/dir-item.js';

export interface FsNode {
  subvol: bigint;
  ino: bigint;
  /** The kernel's stand-in (inode 2) for a subvolume entry whose subvolume is not attached here. */
  placeholder?: boolean;
  /** For placeholders: the directory holding the entry (the kernel copies its atime). */
  parent?: FsNode;
}

export interface PathContext {
  root: FsNode;
  isDirectory(node: FsNode): Promise<boolean>;
  isSymlink(node: FsNode): Promise<boolean>;
  lookup(dir: FsNode, name: Buffer): Promise<DirEntry | undefined>;
  enter(dir: FsNode, entry: DirEntry): Promise<FsNode>;
  readlink(node: FsNode): Promise<Buffer>;
}

export const MAX_SYMLINKS = 40;
const MAX_PATH_COMPONENTS = 65536;

function components(path: Buffer | string): Buffer[] {
  const buf = typeof path === 'string' ? Buffer.from(path, 'utf8') : path;
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= buf.length; i++) {
    if (i === buf.length || buf[i] === 0x2f) {
      if (i > start) {
        const c = buf.subarray(start, i);
        if (!(c.length === 1 && c[0] === 0x2e)) out.push(c);
      }
      start = i + 1;
    }
  }
  return out;
}

const DOTDOT = Buffer.from('..');

/** Resolve `path` (absolute or relative to the view root) to a node. */
export async function resolve(ctx: PathContext, path: string, follow: boolean, syscall: string): Promise<FsNode> {
  const stack: FsNode[] = [ctx.root];
  let todo = components(path);
  let links = 0;
  while (todo.length) {
    if (todo.length > MAX_PATH_COMPONENTS) throw new PathError('ENAMETOOLONG', syscall, path);
    const name = todo.shift()!;
    if (name.equals(DOTDOT)) {
      if (stack.length > 1) stack.pop();
      continue;
    }
    if (name.length > NAME_LEN) throw new PathError('ENAMETOOLONG', syscall, path);
    const dir = stack[stack.length - 1]!;
    if (!(await ctx.isDirectory(dir))) throw new PathError('ENOTDIR', syscall, path);
    const entry = await ctx.lookup(dir, name);
    if (!entry) throw new PathError('ENOENT', syscall, path);
    const child = await ctx.enter(dir, entry);
    const last = todo.length === 0;
    if ((!last || follow) && (await ctx.isSymlink(child))) {
      if (++links > MAX_SYMLINKS) throw new PathError('ELOOP', syscall, path);
      const target = await ctx.readlink(child);
      if (target.length === 0) throw new PathError('ENOENT', syscall, path);
      if (target[0] === 0x2f) stack.length = 1; // absolute targets start at the view root, like a chroot
      todo = [...components(target), ...todo];
      continue;
    }
    stack.push(child);
  }
  return stack[stack.length - 1]!;
}

/** Directory entry type as readdir reports it (subvolume entries are directories). */
export function entryKind(entry: DirEntry): 'file' | 'dir' | 'symlink' | 'fifo' | 'chr' | 'blk' | 'sock' | 'unknown' {
  if (entry.location.type === KeyType.ROOT_ITEM) return 'dir';
  switch (entry.type & 0x7f) {
    case FileType.REG_FILE: return 'file';
    case FileType.DIR: return 'dir';
    case FileType.SYMLINK: return 'symlink';
    case FileType.FIFO: return 'fifo';
    case FileType.CHRDEV: return 'chr';
    case FileType.BLKDEV: return 'blk';
    case FileType.SOCK: return 'sock';
    default: return 'unknown';
  }
}
