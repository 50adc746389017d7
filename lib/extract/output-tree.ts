// The destination of an extraction, confined to its root whatever the image holds. Nothing is ever
// created through a path that leaves the root:
// - every directory below the root is one this run created (mkdir of a new name; never `-p`, which
//   would walk through a symlink already there), and entries are only created inside those;
// - files are created with O_CREAT | O_EXCL | O_NOFOLLOW and reopened with O_NOFOLLOW, so an existing
//   name, symlink or not, is never written through;
// - a symlink only ever becomes a last path component: no directory of this run can be replaced by
//   one (mkdir succeeded there), so no later path runs through it;
// - hard links point at files this run created.
// An existing entry is a problem for that entry (the rest goes on), unless `overwrite` allows
// replacing it: a directory that is really a directory (lstat, not followed) is then entered, other
// entries are unlinked first. Names are bytes and paths are built as bytes.

import { spawnSync } from 'node:child_process';
import { closeSync, constants, linkSync, lstatSync, mkdirSync, openSync, renameSync, rmdirSync, symlinkSync, unlinkSync } from 'node:fs';

/** A directory created by this run (or the root): entries may be created in it. */
export interface OutDir {
  readonly path: Buffer;
}

/** Longest path the kernel resolves (PATH_MAX, with its NUL). */
const PATH_MAX = 4096;

const SLASH = Buffer.from('/');

/** Something could not be created: reported for its entry, the rest goes on. */
export class OutputError extends Error {
  constructor(readonly path: Buffer, readonly code: string, what: string) {
    super(`${showPath(path)}: ${what} (${code})`);
  }

  /** The destination cannot take anything more: going on would only repeat this. */
  get fatal(): boolean {
    return this.code === 'ENOSPC' || this.code === 'EDQUOT' || this.code === 'EROFS' || this.code === 'EMFILE' || this.code === 'ENFILE';
  }
}

/** A destination path for messages (the bytes as UTF-8). */
export function showPath(path: Buffer): string {
  return path.toString('utf8');
}

export class OutputTree {
  readonly root: OutDir;

  constructor(root: string, private readonly overwrite: boolean) {
    // The root is the caller's own path, trusted as given (it may be reached through symlinks).
    try {
      mkdirSync(root, { recursive: true });
    } catch (e) {
      throw new OutputError(Buffer.from(root), codeOf(e), 'cannot create the output directory');
    }
    this.root = { path: Buffer.from(root.replace(/\/+$/, '') || '/') };
  }

  /** The destination path of `name` in `dir` (checked against PATH_MAX). */
  pathOf(dir: OutDir, name: Buffer): Buffer {
    const path = dir.path.length === 1 && dir.path[0] === 0x2f ? Buffer.concat([dir.path, name]) : Buffer.concat([dir.path, SLASH, name]);
    if (path.length >= PATH_MAX) throw new OutputError(path, 'ENAMETOOLONG', `path of ${path.length} bytes is longer than the system allows`);
    return path;
  }

  /** A new directory (mode 0700 until its own mode is applied last). */
  mkdir(dir: OutDir, name: Buffer): OutDir {
    const path = this.pathOf(dir, name);
    try {
      mkdirSync(path, 0o700);
      return { path };
    } catch (e) {
      if (codeOf(e) !== 'EEXIST' || !this.overwrite) throw new OutputError(path, codeOf(e), existsOr(e, 'cannot create directory'));
    }
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st?.isDirectory()) return { path };
    this.unlinkExisting(path);
    try {
      mkdirSync(path, 0o700);
    } catch (e) {
      throw new OutputError(path, codeOf(e), 'cannot create directory');
    }
    return { path };
  }

  /** A new empty regular file, open for writing, with `mode` (0600 unless the caller knows better). */
  createFile(dir: OutDir, name: Buffer, mode = 0o600): { path: Buffer; fd: number } {
    const path = this.pathOf(dir, name);
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    try {
      return { path, fd: openSync(path, flags, mode) };
    } catch (e) {
      if (codeOf(e) !== 'EEXIST' || !this.overwrite) throw new OutputError(path, codeOf(e), existsOr(e, 'cannot create file'));
    }
    this.unlinkExisting(path);
    try {
      return { path, fd: openSync(path, flags, mode) };
    } catch (e) {
      throw new OutputError(path, codeOf(e), 'cannot create file');
    }
  }

  /** A file this run created, opened again for writing (never through a symlink). */
  reopen(path: Buffer): number {
    try {
      return openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW);
    } catch (e) {
      throw new OutputError(path, codeOf(e), 'cannot reopen file');
    }
  }

  symlink(dir: OutDir, name: Buffer, target: Buffer): Buffer {
    return this.create(dir, name, 'cannot create symlink', (path) => symlinkSync(target, path));
  }

  /** Another name for `existing`, a file this run created. */
  link(existing: Buffer, dir: OutDir, name: Buffer): Buffer {
    return this.create(dir, name, 'cannot create hard link', (path) => linkSync(existing, path));
  }

  /**
   * A fifo or device node, made by mkfifo(1)/mknod(1) (Node has no mknod) under a plain temporary
   * name, then renamed to its name's exact bytes (which need not be text). The child reaches the
   * directory through an inherited descriptor, so no path of ours has to pass through its arguments.
   */
  special(dir: OutDir, name: Buffer, kind: 'fifo' | 'chr' | 'blk', major: number, minor: number): Buffer {
    return this.create(dir, name, `cannot create ${kind}`, (path) => {
      const tempName = `.btrfs-lens-node-${process.pid}`;
      const temp = Buffer.concat([dir.path, SLASH, Buffer.from(tempName)]);
      const dirFd = openSync(dir.path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      let r;
      try {
        const at = `/dev/fd/3/${tempName}`;
        const args = kind === 'fifo' ? ['mkfifo', at] : ['mknod', at, kind === 'chr' ? 'c' : 'b', String(major), String(minor)];
        r = spawnSync(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe', dirFd] });
      } finally {
        closeSync(dirFd);
      }
      if (r.status !== 0) {
        const message = r.stderr?.toString().trim() || r.error?.message || 'failed';
        throw Object.assign(new Error(message), { code: /not permitted/i.test(message) ? 'EPERM' : 'EIO' });
      }
      try {
        // rename() would replace an existing name silently: refuse as an exclusive create does.
        if (lstatSync(path, { throwIfNoEntry: false })) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
        renameSync(temp, path);
      } catch (e) {
        unlinkSync(temp);
        throw e;
      }
    });
  }

  /** Remove a file this run created (its data could not be read). */
  remove(path: Buffer): void {
    try {
      unlinkSync(path);
    } catch {
      // Already gone: nothing to undo.
    }
  }

  private create(dir: OutDir, name: Buffer, what: string, make: (path: Buffer) => void): Buffer {
    const path = this.pathOf(dir, name);
    try {
      make(path);
      return path;
    } catch (e) {
      if (codeOf(e) !== 'EEXIST' || !this.overwrite) throw new OutputError(path, codeOf(e), existsOr(e, what));
    }
    this.unlinkExisting(path);
    try {
      make(path);
    } catch (e) {
      throw new OutputError(path, codeOf(e), what);
    }
    return path;
  }

  /** --overwrite: make room for a new entry (an empty directory may go, a full one stays). */
  private unlinkExisting(path: Buffer): void {
    try {
      const st = lstatSync(path);
      if (st.isDirectory()) rmdirSync(path);
      else unlinkSync(path);
    } catch (e) {
      throw new OutputError(path, codeOf(e), 'cannot replace the existing entry');
    }
  }
}

function codeOf(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? 'EIO';
}

function existsOr(e: unknown, what: string): string {
  return codeOf(e) === 'EEXIST' ? 'exists already (--overwrite replaces it)' : what;
}
