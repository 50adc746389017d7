import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../../lib/errors.js';
import { Filesystem } from '../../lib/fs/filesystem.js';
import { dumpTree, JsonSink, parseTreeId, TextSink, type DumpTreeOptions } from '../../lib/dump/index.js';
import { EXIT, writeOut } from '../common.js';

export interface DumpTreeArgs {
  image: string;
  more?: string[];
  device?: string[];
  partition?: number;
  offset?: number;
  super?: number;
  noscan?: boolean;
  tree?: string;
  block?: string[];
  follow?: boolean;
  extents?: boolean;
  'device-only'?: boolean;
  roots?: boolean;
  backups?: boolean;
  uuid?: boolean;
  bfs?: boolean;
  dfs?: boolean;
  'hide-names'?: boolean;
  'csum-headers'?: boolean;
  'csum-items'?: boolean;
  json?: boolean;
}

/** A u64 command-line value, read as progs' arg_strtou64 reads it (decimal digits only). */
export function parseU64Arg(value: string): bigint {
  if (!/^[0-9]+$/.test(value) || BigInt(value) >= 2n ** 64n) throw new UsageError(`${value} is not a valid numeric value.`);
  return BigInt(value);
}

/**
 * Which of several options came last on the command line (progs lets the later of --bfs/--dfs, or of
 * -a/-s, win). `spellings` are whole tokens, or single letters matched inside short-option clusters.
 */
export function lastGiven<T extends string>(argv: string[], spellings: Record<T, string[]>): T | undefined {
  let best: T | undefined;
  let bestAt = -1;
  argv.forEach((tok, i) => {
    for (const [name, forms] of Object.entries(spellings) as Array<[T, string[]]>) {
      const hit = forms.some((f) =>
        f.length === 1 ? /^-[A-Za-z]+/.test(tok) && !tok.startsWith('--') && tok.slice(1).includes(f) : tok === f || tok.startsWith(`${f}=`));
      if (hit && i >= bestAt) {
        best = name;
        bestAt = i;
      }
    }
  });
  return best;
}

export function dumpTreeBuilder(y: Argv) {
  return y
    .positional('image', { type: 'string', demandOption: true, describe: 'Btrfs image (first device of a multi-device filesystem)' })
    .positional('more', { type: 'string', array: true, describe: 'the other member devices' })
    .option('device', { type: 'string', array: true, nargs: 1, describe: 'another member device image (repeatable)' })
    .option('partition', { type: 'number', describe: 'partition number inside a whole-disk image (GPT or MBR)' })
    .option('offset', { type: 'number', describe: 'byte offset of the filesystem inside IMAGE' })
    .option('super', { type: 'number', describe: 'open with superblock copy N (0, 1 or 2)' })
    .option('noscan', { type: 'boolean', describe: 'use only the devices given; do not look for members beside IMAGE' })
    .option('tree', { alias: 't', type: 'string', describe: 'print only the tree with this id (number or name: fs, extent, csum, ...)' })
    .option('block', { alias: 'b', type: 'string', array: true, nargs: 1, describe: 'print only this tree block (repeatable)' })
    .option('follow', { type: 'boolean', describe: 'with -b, also print every block below it' })
    .option('extents', { alias: 'e', type: 'boolean', describe: 'print only extent info: the leaves of the extent and device trees' })
    .option('device-only', { alias: 'd', type: 'boolean', describe: 'print only device info: root, chunk and device trees (progs: -d/--device)' })
    .option('roots', { alias: 'r', type: 'boolean', describe: 'print only where each tree root is' })
    .option('backups', { alias: 'R', type: 'boolean', describe: 'as --roots, plus the backup roots' })
    .option('uuid', { alias: 'u', type: 'boolean', describe: 'print only the uuid tree' })
    .option('bfs', { type: 'boolean', describe: 'breadth-first: nodes, then leaves (default)' })
    .option('dfs', { type: 'boolean', describe: 'depth-first traversal' })
    .option('hide-names', { type: 'boolean', describe: 'hide file names, xattr names and values' })
    .option('csum-headers', { type: 'boolean', describe: 'print the checksum stored in each block header' })
    .option('csum-items', { type: 'boolean', describe: 'print every data checksum of checksum items' });
}

/** The walk options the parsed command line asks for; `raw` is the command line, for --bfs/--dfs order. */
export function dumpTreeOptions(argv: DumpTreeArgs, raw: string[]): DumpTreeOptions {
  const traverse = lastGiven(raw, { bfs: ['--bfs'], dfs: ['--dfs'] });
  return {
    tree: argv.tree !== undefined ? parseTreeId(argv.tree) : undefined,
    blocks: argv.block?.map(parseU64Arg),
    follow: argv.follow,
    extents: argv.extents,
    device: argv['device-only'],
    roots: argv.roots || argv.backups,
    backups: argv.backups,
    uuid: argv.uuid,
    traverse: traverse ?? 'bfs',
    hideNames: argv['hide-names'],
    csumHeaders: argv['csum-headers'],
    csumItems: argv['csum-items'],
  };
}

export const dumpTreeCommand: CommandModule<object, DumpTreeArgs> = {
  command: 'dump-tree <image> [more..]',
  describe: "the trees as btrfs-progs 6.2's `inspect-internal dump-tree` prints them (--json: the documented document)",
  builder: (y) => dumpTreeBuilder(y) as never,
  handler: async (argv) => {
    const opts = dumpTreeOptions(argv, process.argv.slice(2));
    const paths = [argv.image, ...(argv.more ?? []), ...(argv.device ?? [])];
    const fs = await Filesystem.open(paths, {
      ...(argv.partition !== undefined ? { partition: argv.partition } : {}),
      ...(argv.offset !== undefined ? { offset: argv.offset } : {}),
      ...(argv.super ? { superblockMirror: argv.super } : {}),
      scanFolder: !argv.noscan,
    });
    try {
      if (argv.json) {
        const sink = new JsonSink(fs.sectorsize, writeOut);
        await sink.start();
        await dumpTree(fs, opts, sink);
        await sink.end();
        if (sink.problems) process.exitCode = EXIT.PROBLEMS;
      } else {
        const sink = new TextSink(fs.sectorsize, (s) => writeOut(Buffer.from(s, 'latin1')), (line) => process.stderr.write(`${line}\n`));
        await sink.start();
        await dumpTree(fs, opts, sink);
        if (sink.problems) process.exitCode = EXIT.PROBLEMS;
      }
    } finally {
      await fs.close();
    }
  },
};
