import type { CommandModule } from 'yargs';
import { extract } from '../../lib/index.js';
import { EXIT, imageOptions, toJson, withImage, type ImageArgs } from '../common.js';
import { Progress } from '../progress.js';

export interface ExtractArgs extends ImageArgs {
  path: string;
  output: string;
  xattrs?: boolean;
  xattrsInclude?: string[];
  samePermissions?: boolean;
  devices?: boolean;
  overwrite?: boolean;
  oneSubvolume?: boolean;
  ignoreErrors?: boolean;
}

export const extractCommand: CommandModule<object, ExtractArgs> = {
  command: 'extract <image> [path]',
  describe: 'copy a tree out of the image: data, modes, owners (as root), times, symlinks, hard links; each shared extent read once',
  builder: (y) =>
    imageOptions(y)
      .positional('path', { type: 'string', default: '/', describe: 'what to extract (a directory or a single entry)' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'destination directory (created if missing); nothing is ever written outside it' })
      .option('xattrs', { type: 'boolean', describe: 'restore extended attributes in the user.* namespace (uses setfattr)' })
      .option('xattrs-include', {
        type: 'string', array: true,
        describe: "also restore xattrs whose name matches this glob (repeatable), e.g. 'security.*', or '*' for all; implies --xattrs. security.capability, trusted.* and ACLs from an image grant privileges on this machine: ask for them only when you mean it",
      })
      .option('same-permissions', { alias: 'p', type: 'boolean', describe: 'keep set-user-ID and set-group-ID bits (cleared by default, as they would grant privileges here)' })
      .option('devices', { type: 'boolean', describe: 'create block and character device nodes (needs root; skipped and reported by default)' })
      .option('overwrite', { type: 'boolean', describe: 'replace entries that already exist in the destination (by default each is reported and left alone)' })
      .option('one-subvolume', { alias: 'x', type: 'boolean', describe: 'do not descend into other subvolumes (like tar --one-file-system)' })
      .option('ignore-errors', { type: 'boolean', describe: 'read through damage: extract what can be read, zero-fill unreadable file ranges, report each problem, exit 1' })
      .epilog(
        'Extraction is confined to the output directory whatever the image holds: entries are created ' +
          'exclusively, never through a symlink, and a name that exists already is reported and skipped ' +
          '(exit 1). Owners are restored when running as root. --json prints one summary object at the end: ' +
          'files, bytes_written, disk_reads, disk_bytes, csum_sectors_verified, decompressions, ' +
          'inline_decompressions, extents_reused, problems.',
      ) as never,
  handler: (argv) =>
    withImage(argv, async (fs) => {
      const progress = new Progress('extract');
      const include = argv.xattrsInclude ?? [];
      const summary = await extract(fs, {
        path: argv.path,
        output: argv.output,
        oneSubvolume: argv.oneSubvolume === true,
        ignoreErrors: argv.ignoreErrors === true,
        overwrite: argv.overwrite === true,
        samePermissions: argv.samePermissions === true,
        devices: argv.devices === true,
        xattrs: include.length ? include : argv.xattrs === true,
        onProgress: (files, bytes) => progress.update(files, bytes),
        onProblem: (line) => {
          progress.done();
          process.stderr.write(`btrfs-lens: ${line}\n`);
        },
      });
      progress.done();
      if (argv.json) process.stdout.write(toJson(summary) + '\n');
      if (summary.problems) process.exitCode = EXIT.PROBLEMS;
    }),
};
