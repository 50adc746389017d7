import type { CommandModule } from 'yargs';
import { compsize, type CompsizeResult } from '../../lib/usage/compsize.js';
import { EXIT, imageOptions, toJsonStrings, withImage, writeOut, type ImageArgs } from '../common.js';
import { Progress } from '../progress.js';

export interface CompsizeArgs extends ImageArgs {
  paths?: string[];
  bytes?: boolean;
  'one-file-system'?: boolean;
}

/** compsize's human_bytes: "%4lu%c" below 1024 units, " %lu.%lu%c" of the next unit up to 10240. */
export function compsizeHuman(n: bigint): string {
  const units = 'BKMGTPE';
  let x = n;
  let u = 0;
  while (x >= 10240n) {
    u++;
    x >>= 10n;
  }
  if (x >= 1024n) return ` ${x >> 10n}.${((x * 10n) / 1024n) % 10n}${units[u + 1]}`;
  return `${String(x).padStart(4)}${units[u]}`;
}

function row(type: string, perc: string, disk: string, uncomp: string, refd: string): string {
  return `${type.padEnd(10)} ${perc.padEnd(8)} ${disk.padEnd(12)} ${uncomp.padEnd(12)} ${refd.padEnd(12)}\n`;
}

export function formatCompsize(r: CompsizeResult, bytes: boolean): string {
  const size = (n: bigint) => (bytes ? n.toString() : compsizeHuman(n));
  const perc = (disk: bigint, uncomp: bigint) => `${String((disk * 100n) / uncomp).padStart(3)}%`;
  let out = `Processed ${r.files} file${r.files === 1n ? '' : 's'}, ${r.extents} regular extents (${r.refs} refs), ${r.inline} inline.\n`;
  out += row('Type', 'Perc', 'Disk Usage', 'Uncompressed', 'Referenced');
  out += row('TOTAL', perc(r.total.disk, r.total.uncompressed), size(r.total.disk), size(r.total.uncompressed), size(r.total.referenced));
  for (const t of r.types) out += row(t.name, perc(t.disk, t.uncompressed), size(t.disk), size(t.uncompressed), size(t.referenced));
  return out;
}

export const compsizeCommand: CommandModule<object, CompsizeArgs> = {
  command: 'compsize <image> [paths..]',
  describe: 'Disk Usage, Uncompressed and Referenced bytes per compression type, as compsize computes them',
  builder: (y) =>
    imageOptions(y)
      .positional('paths', { type: 'string', array: true, describe: 'files or directories inside the filesystem (default: /)' })
      .option('bytes', { alias: 'b', type: 'boolean', describe: 'show raw byte counts, not human-readable sizes' })
      .option('one-file-system', { alias: 'x', type: 'boolean', describe: 'do not cross into other subvolumes' }) as never,
  handler: (argv) =>
    withImage(argv, async (fs) => {
      const given = [...(argv.paths ?? []), ...argv._.slice(1).map(String)];
      const paths = given.length ? given : ['/'];
      const progress = new Progress('compsize');
      let searched = 0;
      const r = await compsize(fs, paths, {
        oneFileSystem: argv['one-file-system'] ?? false,
        onEntry: () => {
          searched++;
          progress.show(() => `${searched} files and directories`);
        },
      }).finally(() => progress.done());
      if (argv.json) {
        const json = {
          files: r.files, extents: r.extents, refs: r.refs, inline: r.inline,
          total: { disk_usage: r.total.disk, uncompressed: r.total.uncompressed, referenced: r.total.referenced },
          types: r.types.map((t) => ({ type: t.name, disk_usage: t.disk, uncompressed: t.uncompressed, referenced: t.referenced })),
        };
        return writeOut(toJsonStrings(json, 2) + '\n');
      }
      if (r.total.uncompressed === 0n) {
        // compsize's own wording and exit status when there is nothing to report.
        process.stderr.write(r.files === 0n ? 'No files.\n' : 'All empty or still-delalloced files.\n');
        process.exitCode = EXIT.PROBLEMS;
        return;
      }
      return writeOut(formatCompsize(r, argv.bytes ?? false));
    }),
};
