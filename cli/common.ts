// What every command shares: the image options, opening, exit codes, JSON that keeps u64 exact,
// and turning any error into one line on stderr.

import type { Argv } from 'yargs';
import { BtrfsError, ChecksumError, CorruptError, IoError, MissingDeviceError, PathError, UnsupportedError, UsageError } from '../lib/errors.js';
import { open, OutputError, type Btrfs, type OpenOptions } from '../lib/index.js';

export const EXIT = {
  OK: 0,
  /** check found problems; --ignore-errors read through some. */
  PROBLEMS: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  CORRUPT: 4,
  IO: 5,
  UNSUPPORTED: 6,
  INTERNAL: 70,
} as const;

export interface ImageArgs {
  image: string;
  device?: string[];
  partition?: number;
  offset?: number;
  subvol?: string;
  super?: number;
  backing?: string;
  qcowSnapshot?: string;
  json?: boolean;
  debug?: boolean;
  /** Warnings (damage read around) make the exit status 1. */
  strict?: boolean;
}

export function imageOptions<T>(y: Argv<T>) {
  return y
    .positional('image', { type: 'string', describe: 'Btrfs image file (first device of a multi-device filesystem)', demandOption: true })
    .option('device', { type: 'string', array: true, describe: 'another member device image (repeatable); missing members are also looked for beside IMAGE' })
    .option('partition', { type: 'number', describe: 'partition number inside a whole-disk image (GPT or MBR)' })
    .option('offset', { type: 'number', describe: 'byte offset of the filesystem inside IMAGE' })
    .option('subvol', { type: 'string', describe: 'root the view at this subvolume (id or path); default: the top level, id 5' })
    .option('super', { type: 'number', describe: 'use superblock copy N (0, 1 or 2)', default: 0 })
    .option('backing', { type: 'string', describe: 'the backing (qcow2) or parent (VHD, VHDX) image of IMAGE, instead of the one it names beside it' })
    .option('qcow-snapshot', { type: 'string', describe: 'qcow2: read this internal snapshot (id or name) instead of the active image' });
}

export function openImage(argv: ImageArgs, extra: OpenOptions = {}): Promise<Btrfs> {
  const options: OpenOptions = { ...extra };
  if (argv.device?.length) options.devices = argv.device;
  if (argv.partition !== undefined) options.partition = argv.partition;
  if (argv.offset !== undefined) options.offset = argv.offset;
  if (argv.subvol !== undefined) options.subvol = argv.subvol;
  if (argv.super) options.superblockMirror = argv.super;
  if (argv.backing !== undefined) options.backing = argv.backing;
  if (argv.qcowSnapshot !== undefined) options.qcowSnapshot = String(argv.qcowSnapshot);
  return open(argv.image, options);
}

/** JSON with bigint as a number where it is exact, else as a decimal string. */
export function toJson(value: unknown, indent?: number): string {
  // Most documents (every `ls --json` line) hold no bigint: without a replacer, JSON.stringify is
  // several times faster, and it refuses a bigint rather than printing it wrong.
  try {
    return JSON.stringify(value, undefined, indent);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
  }
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? (v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v.toString()) : v), indent);
}

/** JSON with every bigint as a decimal string (for u64 fields documented as strings). */
export function toJsonStrings(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

export function exitCodeFor(e: unknown): number {
  // The destination refused (full, read-only): the command ran and left work undone.
  if (e instanceof OutputError) return EXIT.PROBLEMS;
  if (e instanceof UsageError) return EXIT.USAGE;
  if (e instanceof PathError) return EXIT.NOT_FOUND;
  if (e instanceof ChecksumError || e instanceof CorruptError) return EXIT.CORRUPT;
  if (e instanceof MissingDeviceError || e instanceof IoError) return EXIT.IO;
  if (e instanceof UnsupportedError) return EXIT.UNSUPPORTED;
  if (e instanceof BtrfsError) return EXIT.CORRUPT;
  return EXIT.INTERNAL;
}

export function describeError(e: unknown): string {
  if (e instanceof BtrfsError || e instanceof OutputError) return e.message;
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') return 'output closed';
    return `internal error: ${e.message}`;
  }
  return `internal error: ${String(e)}`;
}

/** Write to stdout respecting backpressure (large JSON streams, cat of big files). */
export function writeOut(chunk: string | Buffer): Promise<void> {
  // No callback: stream errors go to the handler main() installs. Resolved on the next tick rather
  // than at once: a command whose data is all in memory never returns to the event loop, and the
  // stream's per-write bookkeeping (queued with process.nextTick) would pile up, holding every chunk
  // written, until it did (200,000 entries of `ls -R --json` kept 60 MB of lines alive).
  if (process.stdout.write(chunk)) return new Promise((resolve) => process.nextTick(resolve));
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

/** Open, run, close: the body of every command that reads an image. */
export async function withImage<T>(argv: ImageArgs, body: (fs: Btrfs) => Promise<T>, extra: OpenOptions = {}): Promise<T> {
  const fs = await openImage(argv, extra);
  try {
    return await body(fs);
  } catch (e) {
    throw e instanceof PathError && e.image === undefined ? e.inImage(argv.image) : e;
  } finally {
    // Damage is never worked around in silence: one line per kind, and --strict makes it a failure.
    const warnings = fs.warnings();
    for (const w of warnings) process.stderr.write(`btrfs-lens: warning: ${w.message}\n`);
    if (warnings.length && argv.strict && !process.exitCode) process.exitCode = EXIT.PROBLEMS;
    await fs.close();
  }
}

export function humanBytes(n: bigint | number): string {
  let v = Number(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}B` : `${v.toFixed(2)}${units[i]}`;
}

export function modeString(mode: number): string {
  const types: Record<number, string> = { 0o140000: 's', 0o120000: 'l', 0o100000: '-', 0o060000: 'b', 0o040000: 'd', 0o020000: 'c', 0o010000: 'p' };
  let s = types[mode & 0o170000] ?? '?';
  const rwx = ['r', 'w', 'x'];
  for (let i = 8; i >= 0; i--) s += mode & (1 << i) ? rwx[(8 - i) % 3] : '-';
  const chars = s.split('');
  if (mode & 0o4000) chars[3] = chars[3] === 'x' ? 's' : 'S';
  if (mode & 0o2000) chars[6] = chars[6] === 'x' ? 's' : 'S';
  if (mode & 0o1000) chars[9] = chars[9] === 'x' ? 't' : 'T';
  return chars.join('');
}
