import type { CommandModule } from 'yargs';
import { BackrefContext } from '../../lib/backref/context.js';
import { isBtrfsError } from '../../lib/errors.js';
import { du, type DuRow } from '../../lib/usage/du.js';
import { prettySize, type UnitMode } from '../../lib/usage/units.js';
import { describeError, EXIT, imageOptions, toJsonStrings, withImage, writeOut, type ImageArgs } from '../common.js';
import { Progress } from '../progress.js';
import { warnProblems } from './logical-resolve.js';

export interface DuArgs extends ImageArgs {
  paths?: string[];
  summarize?: boolean;
  raw?: boolean;
  'human-readable'?: boolean;
  iec?: boolean;
  si?: boolean;
  kbytes?: boolean;
  mbytes?: boolean;
  gbytes?: boolean;
  tbytes?: boolean;
}

function unitMode(argv: DuArgs): UnitMode {
  if (argv.raw) return { raw: true };
  const mode: UnitMode = { base: argv.si ? 'decimal' : 'binary', scale: 'auto' };
  if (argv.kbytes) mode.scale = 'kbytes';
  if (argv.mbytes) mode.scale = 'mbytes';
  if (argv.gbytes) mode.scale = 'gbytes';
  if (argv.tbytes) mode.scale = 'tbytes';
  return mode;
}

function line(a: string, b: string, c: string, name: string): string {
  return `${a.padStart(10)}  ${b.padStart(10)}  ${c.padStart(10)}  ${name}\n`;
}

export const duCommand: CommandModule<object, DuArgs> = {
  command: 'du <image> [paths..]',
  describe: 'Total, Exclusive and Set shared bytes per file and directory, as btrfs filesystem du computes them',
  builder: (y) =>
    imageOptions(y)
      .positional('paths', { type: 'string', array: true, describe: 'files or directories inside the filesystem (default: .)' })
      .option('summarize', { alias: 's', type: 'boolean', describe: 'display only a total for each argument' })
      .option('raw', { type: 'boolean', describe: 'raw numbers in bytes' })
      .option('human-readable', { type: 'boolean', describe: 'human friendly numbers, base 1024 (default)' })
      .option('iec', { type: 'boolean', describe: 'use 1024 as a base (KiB, MiB, GiB, TiB)' })
      .option('si', { type: 'boolean', describe: 'use 1000 as a base (kB, MB, GB, TB)' })
      .option('kbytes', { type: 'boolean', describe: 'show sizes in KiB, or kB with --si' })
      .option('mbytes', { type: 'boolean', describe: 'show sizes in MiB, or MB with --si' })
      .option('gbytes', { type: 'boolean', describe: 'show sizes in GiB, or GB with --si' })
      .option('tbytes', { type: 'boolean', describe: 'show sizes in TiB, or TB with --si' }) as never,
  handler: (argv) =>
    withImage(argv, async (fs) => {
      const given = [...(argv.paths ?? []), ...argv._.slice(1).map(String)];
      const paths = given.length ? given : ['.'];
      const context = await BackrefContext.create(fs.filesystem);
      const results: Array<{ path: string; rows: DuRow[] } | { path: string; error: unknown }> = [];
      const mode = unitMode(argv);
      const progress = new Progress('du');
      if (!argv.json) await writeOut(line('Total', 'Exclusive', 'Set shared', 'Filename'));
      for (const p of paths) {
        try {
          let counted = 0;
          const rows = await du(fs, p, {
            summarize: argv.summarize ?? false,
            context,
            onEntry: () => {
              counted++;
              progress.show(() => `${p}: ${counted} files and directories`);
            },
          }).finally(() => progress.done());
          results.push({ path: p, rows });
          if (!argv.json) {
            await writeOut(rows.map((r) => line(prettySize(r.total, mode), prettySize(r.exclusive, mode), r.setShared === null ? '-' : prettySize(r.setShared, mode), r.path)).join(''));
          }
        } catch (e) {
          // As btrfs-progs: report the argument, go on with the others, fail at the end.
          if (!isBtrfsError(e)) throw e;
          results.push({ path: p, error: e });
          if (!argv.json) process.stderr.write(`btrfs-lens: cannot check space of '${p}': ${describeError(e)}\n`);
        }
      }
      if (argv.json) {
        const out = results.map((r) =>
          'rows' in r
            ? { path: r.path, rows: r.rows.map((x) => ({ path: x.path, total: x.total, exclusive: x.exclusive, set_shared: x.setShared })) }
            : { path: r.path, error: describeError(r.error) });
        await writeOut(toJsonStrings(out, 2) + '\n');
      }
      if (results.some((r) => 'error' in r)) process.exitCode = EXIT.PROBLEMS;
      warnProblems(context);
    }),
};
