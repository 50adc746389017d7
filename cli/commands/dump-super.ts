import type { Argv, CommandModule } from 'yargs';
import { CorruptError } from '../../lib/errors.js';
import { dumpSuper, renderDumpSuper, type DumpSuperOptions, type SuperDevice } from '../../lib/dump/index.js';
import { openFilesystemSource, type SourceOptions } from '../../lib/io/devices.js';
import { FileSource, type ImageSource } from '../../lib/io/source.js';
import { EXIT, writeOut } from '../common.js';
import { lastGiven, parseU64Arg } from './dump-tree.js';

export interface DumpSuperArgs {
  image: string;
  more?: string[];
  partition?: number;
  offset?: number;
  full?: boolean;
  all?: boolean;
  super?: string;
  force?: boolean;
  bytenr?: string;
  json?: boolean;
}

export function dumpSuperBuilder(y: Argv) {
  return y
    .positional('image', { type: 'string', demandOption: true, describe: 'device image' })
    .positional('more', { type: 'string', array: true, describe: 'more device images, each dumped in turn' })
    .option('partition', { type: 'number', describe: 'partition number inside a whole-disk IMAGE (GPT or MBR)' })
    .option('offset', { type: 'number', describe: 'byte offset of the filesystem inside IMAGE' })
    .option('full', { alias: 'f', type: 'boolean', describe: 'also the sys_chunk_array and the backup roots' })
    .option('all', { alias: 'a', type: 'boolean', describe: 'every superblock copy' })
    .option('super', { alias: 's', type: 'string', describe: 'which copy: 0, 1 or 2 (larger values: a byte offset, as --bytenr)' })
    .option('force', { alias: 'F', type: 'boolean', describe: 'print a superblock even when its magic is wrong' })
    .option('bytenr', { type: 'string', describe: 'read a superblock at this byte offset' });
}

/**
 * The bytes a device's superblocks are read from: the Btrfs filesystem inside IMAGE (partition found
 * as everywhere else), or the plain file when nothing there looks like Btrfs (a dump shows damage too).
 */
async function openDumpSource(path: string, options: SourceOptions): Promise<ImageSource> {
  try {
    return await openFilesystemSource(path, options);
  } catch (e) {
    if (e instanceof CorruptError && options.partition === undefined && options.offset === undefined) return FileSource.open(path);
    throw e;
  }
}

/** The dump options the parsed command line asks for; `raw` is the command line, for -a/-s order. */
export function dumpSuperOptions(argv: DumpSuperArgs, raw: string[]): DumpSuperOptions {
  let copy = 0;
  let bytenr = argv.bytenr !== undefined ? parseU64Arg(argv.bytenr) : undefined;
  if (argv.super !== undefined) {
    const n = parseU64Arg(argv.super);
    if (n >= 3n) {
      process.stderr.write(`WARNING: deprecated use of -s <bytenr> with ${n}, assuming --bytenr\n`);
      bytenr = n;
    } else {
      copy = Number(n);
    }
  }
  // As in progs, -s and --bytenr switch -a off, and -a given after them switches it back on.
  const last = lastGiven(raw, { all: ['--all', 'a'], one: ['--super', '--bytenr', 's'] });
  const all = !!argv.all && (last === 'all' || (argv.super === undefined && argv.bytenr === undefined));
  return { full: argv.full, all, copy, bytenr, force: argv.force };
}

export const dumpSuperCommand: CommandModule<object, DumpSuperArgs> = {
  command: 'dump-super <image> [more..]',
  describe: "the superblock as btrfs-progs 6.2's `inspect-internal dump-super` prints it (--json: the documented document)",
  builder: (y) => dumpSuperBuilder(y) as never,
  handler: async (argv) => {
    const opts = dumpSuperOptions(argv, process.argv.slice(2));
    const names = [argv.image, ...(argv.more ?? [])];
    const devices: SuperDevice[] = [];
    try {
      for (const [i, name] of names.entries()) {
        const options: SourceOptions = {};
        if (i === 0 && argv.partition !== undefined) options.partition = argv.partition;
        if (i === 0 && argv.offset !== undefined) options.offset = argv.offset;
        devices.push({ name, source: await openDumpSource(name, options) });
      }
      const doc = await dumpSuper(devices, opts);
      if (argv.json) {
        await writeOut(JSON.stringify(doc, null, 2) + '\n');
        return;
      }
      const r = renderDumpSuper(doc);
      for (const line of r.stderr) process.stderr.write(`${line}\n`);
      await writeOut(Buffer.from(r.stdout, 'latin1'));
      if (r.status || r.stderr.length) process.exitCode = EXIT.PROBLEMS;
    } finally {
      await Promise.all(devices.map((d) => d.source.close().catch(() => undefined)));
    }
  },
};
