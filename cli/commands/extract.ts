import { spawnSync } from 'node:child_process';
// Synchronous file system calls on the output side: thousands of small creates, writes and metadata
// calls each paid a thread-pool round trip with the promise API, which cost more than the work.
import {
  chmodSync, closeSync, fchmodSync, fchownSync, ftruncateSync, futimesSync, lchownSync, linkSync, lutimesSync, mkdirSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { CommandModule } from 'yargs';
import { walk, type WalkEntry } from '../../lib/fs/walk.js';
import { BtrfsError, UsageError } from '../../lib/errors.js';
import { DamageReport, Salvager } from '../../lib/fs/salvage.js';
import type { FileRef } from '../../lib/fs/read-path.js';
import type { Btrfs } from '../../lib/index.js';
import { EXIT, imageOptions, withImage, type ImageArgs } from '../common.js';
import { Progress } from '../progress.js';
import { splitDev } from '../../lib/fs/stats.js';

export interface ExtractArgs extends ImageArgs {
  path: string;
  output: string;
  xattrs?: boolean;
  oneSubvolume?: boolean;
  ignoreErrors?: boolean;
}

type ReadFn = (file: FileRef, position: bigint, length: number) => Promise<Buffer>;

const CHUNK = 1024 * 1024;
const WRITE_PIECE = 128 * 1024;

/**
 * A time for utimes. Node takes seconds as a double (sub-microsecond digits are lost) and replaces
 * negative numbers with "now", so times before 1970 go in as a Date (millisecond precision).
 */
function utime(ns: bigint): number | Date {
  return ns >= 0n ? Number(ns) / 1e9 : new Date(Number(ns / 1_000_000n));
}

function escapeName(path: string): string {
  // getfattr/setfattr dump format: octal escapes for bytes that would break the line format.
  return path.replace(/[\\\n\r=]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** A regular file's data and then its metadata, through one descriptor (no path lookups per call). */
async function writeFile(fs: Btrfs, e: WalkEntry, dest: string, progress: { bytes: bigint }, read: ReadFn, asRoot: boolean): Promise<void> {
  const file = await fs.fileRef(e.node, e.path);
  const fd = openSync(dest, 'w');
  try {
    let pos = 0n;
    while (pos < file.size) {
      const n = file.size - pos < BigInt(CHUNK) ? Number(file.size - pos) : CHUNK;
      const buf = await read(file, pos, n);
      if (buf.length === 0) break;
      // Written in 128 KiB pieces: measured here, 1 MiB writes into the page cache ran at a tenth of
      // the speed (dd shows the same), while reads stay large to keep per-call work low.
      for (let done = 0; done < buf.length; ) done += writeSync(fd, buf, done, Math.min(WRITE_PIECE, buf.length - done), Number(pos) + done);
      pos += BigInt(buf.length);
      progress.bytes += BigInt(buf.length);
    }
    if (pos !== file.size) ftruncateSync(fd, Number(file.size));
    // chown before chmod: chown clears setuid and setgid. Times last: writes change mtime.
    const f = e.facts;
    if (asRoot) fchownSync(fd, f.uid, f.gid);
    fchmodSync(fd, f.mode & 0o7777);
    futimesSync(fd, utime(f.atimeNs), utime(f.mtimeNs));
  } finally {
    closeSync(fd);
  }
}

function applyMeta(e: WalkEntry, dest: string, asRoot: boolean): void {
  const f = e.facts;
  if (asRoot) lchownSync(dest, f.uid, f.gid);
  if (e.kind !== 'symlink') chmodSync(dest, f.mode & 0o7777);
  lutimesSync(dest, utime(f.atimeNs), utime(f.mtimeNs));
}

export const extractCommand: CommandModule<object, ExtractArgs> = {
  command: 'extract <image> [path]',
  describe: 'copy a tree out of the image with modes, owners (as root), times, symlinks, hard links and (with --xattrs) xattrs',
  builder: (y) =>
    imageOptions(y)
      .positional('path', { type: 'string', default: '/', describe: 'what to extract (a directory or a single entry)' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'destination directory' })
      .option('xattrs', { type: 'boolean', describe: 'also restore extended attributes (uses setfattr)' })
      .option('one-subvolume', { alias: 'x', type: 'boolean', describe: 'do not descend into other subvolumes (like tar --one-file-system)' })
      .option('ignore-errors', { type: 'boolean', describe: 'read through damage: extract what can be read, zero-fill unreadable file ranges, report each problem, exit 1' }) as never,
  handler: (argv) =>
    withImage(argv, async (fs) => {
      const asRoot = process.getuid?.() === 0;
      const progress = new Progress('extract');
      const counts = { files: 0, bytes: 0n };
      // Directories get their metadata when the walk leaves them (writing into a directory changes
      // its times), so only the open ones are held: memory follows depth, not the size of the tree.
      const openDirs: Array<[WalkEntry, string]> = [];
      const closeDirs = async (depth: number) => {
        while (openDirs.length && openDirs[openDirs.length - 1]![0].depth >= depth) {
          const [d, dest] = openDirs.pop()!;
          applyMeta(d, dest, asRoot);
        }
      };
      // First name of each hard-linked inode, until all its names inside the tree have been seen.
      const links = new Map<string, { dest: string; left: number }>();
      let xattrDump: string[] = [];
      const flushXattrs = () => {
        if (!xattrDump.length) return;
        const dumpPath = join(tmpdir(), `btrfs-lens-xattrs-${process.pid}.txt`);
        writeFileSync(dumpPath, xattrDump.join('\n'));
        xattrDump = [];
        const r = spawnSync('setfattr', ['-h', `--restore=${dumpPath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
        rmSync(dumpPath, { force: true });
        if (r.error) throw new UsageError(`cannot run setfattr for --xattrs: ${r.error.message}`);
        // An xattr the destination cannot hold (too large, a namespace it refuses) is a problem to
        // report, not a reason to stop extracting.
        for (const line of r.stderr.toString().split('\n')) if (line.trim()) skipped.push(`xattr not restored: ${line.trim()}`);
      };
      const skipped: string[] = [];
      // --ignore-errors: problems are listed at the end with the other skipped entries.
      const ignore = argv.ignoreErrors === true;
      const report = new DamageReport((line) => skipped.push(line));
      const salvager = new Salvager(fs, report.read);
      // One buffer for all file data: each piece is written out before the next is read.
      const piece = Buffer.allocUnsafe(CHUNK);
      const read: ReadFn = ignore
        ? (f, p, n) => salvager.read(f, p, n)
        : async (f, p, n) => piece.subarray(0, await fs.readPath.readInto(f, p, piece.subarray(0, n)));
      let rootDest: string | undefined;
      mkdirSync(argv.output, { recursive: true });
      for await (const e of walk(fs, argv.path, { follow: true, oneSubvolume: argv.oneSubvolume === true, ...(ignore ? { onError: report.entry } : {}) })) {
        if (rootDest === undefined) rootDest = e.kind === 'dir' ? argv.output : join(argv.output, basename(e.path) || 'root');
        const rel = e.depth === 0 ? '' : e.path.split('/').slice(-e.depth).join('/');
        const dest = rel ? join(rootDest, rel) : rootDest;
        await closeDirs(e.depth);
        // Flushed between entries, after the previous file's chown (which clears security.capability).
        if (xattrDump.length > 4096) flushXattrs();
        counts.files++;
        progress.update(counts.files, counts.bytes);
        // Only entries with other names need it (printing two bigints per entry is not free).
        const inodeId = e.kind !== 'dir' && e.facts.nlink > 1 ? `${e.node.subvol}:${e.node.ino}` : '';
        if (inodeId) {
          const first = links.get(inodeId);
          if (first) {
            linkSync(first.dest, dest);
            if (--first.left <= 0) links.delete(inodeId);
            continue;
          }
          links.set(inodeId, { dest, left: e.facts.nlink - 1 });
        }
        try {
          switch (e.kind) {
            case 'dir':
              mkdirSync(dest, { recursive: true });
              openDirs.push([e, dest]);
              break;
            case 'file':
              await writeFile(fs, e, dest, counts, read, asRoot);
              break;
            case 'symlink':
              symlinkSync(await fs.readlinkNode(e.node), dest);
              break;
            case 'fifo':
            case 'chr':
            case 'blk': {
              const { major, minor } = splitDev(e.facts.rdev);
              const args = e.kind === 'fifo' ? ['mkfifo', dest] : ['mknod', dest, e.kind === 'chr' ? 'c' : 'b', String(major), String(minor)];
              const r = spawnSync(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
              if (r.status !== 0) {
                // Device nodes need root: report and go on, so the rest of the tree is still extracted.
                skipped.push(`${e.path}: cannot create ${e.kind}: ${r.stderr?.toString().trim() || r.error?.message}`);
                continue;
              }
              break;
            }
            default:
              // Sockets are not recreated: a socket without its server is meaningless.
              continue;
          }
          if (argv.xattrs) {
            const xattrs = await fs.xattrsNode(e.node);
            if (xattrs.length) {
              xattrDump.push(`# file: ${escapeName(dest)}`, ...xattrs.map(([n, v]) => `${n}=0s${v.toString('base64')}`), '');
            }
          }
        } catch (err) {
          // Reading through damage: this entry is reported and the rest of the tree still comes out.
          if (!ignore || !(err instanceof BtrfsError)) throw err;
          report.entry(e.path, err);
          if (links.get(inodeId)?.dest === dest) links.delete(inodeId); // its other names cannot link to it
          continue;
        }
        if (e.kind !== 'dir' && e.kind !== 'file') applyMeta(e, dest, asRoot);
      }
      flushXattrs();
      await closeDirs(0);
      progress.done();
      if (skipped.length) {
        for (const line of skipped) process.stderr.write(`btrfs-lens: ${line}\n`);
        process.exitCode = EXIT.PROBLEMS;
      }
    }, { readaheadBytes: 1024 * 1024 }),
};
