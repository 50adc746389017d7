import type { CommandModule } from 'yargs';
import { PathError } from '../../lib/errors.js';
import { DamageReport, Salvager } from '../../lib/reader/salvage.js';
import { kindOfMode } from '../../lib/fs/stats.js';
import type { Btrfs } from '../../lib/index.js';
import { EXIT, imageOptions, withImage, writeOut, type ImageArgs } from '../common.js';

export interface CatArgs extends ImageArgs {
  path: string;
  ignoreErrors?: boolean;
}

const CHUNK = 1024 * 1024;

/** --ignore-errors: every readable byte, zeros for the rest, one stderr line per damaged range. */
async function catSalvaged(fs: Btrfs, path: string): Promise<void> {
  const report = new DamageReport((line) => process.stderr.write(`btrfs-lens: ${line}\n`));
  const node = await fs.node(path, true, 'open');
  if (node.placeholder || kindOfMode((await fs.facts(node)).mode) === 'dir') throw new PathError('EISDIR', 'open', path);
  const file = await fs.fileRef(node, path);
  const salvager = new Salvager(fs.reader, report.read);
  for (let pos = 0n; pos < file.size;) {
    const n = file.size - pos < BigInt(CHUNK) ? Number(file.size - pos) : CHUNK;
    // A new buffer per piece: writeOut may still hold the last one.
    const buf = Buffer.allocUnsafe(n);
    const got = await salvager.read(file, pos, buf);
    if (got === 0) break;
    await writeOut(buf.subarray(0, got));
    pos += BigInt(got);
  }
  if (report.count) process.exitCode = EXIT.PROBLEMS;
}

export const catCommand: CommandModule<object, CatArgs> = {
  command: 'cat <image> <path>',
  describe: 'write a file\'s bytes to stdout (every data checksum verified, shared extents read once)',
  builder: (y) =>
    imageOptions(y)
      .positional('path', { type: 'string', demandOption: true, describe: 'file inside the filesystem' })
      .option('ignore-errors', { type: 'boolean', describe: 'read through damage: zero-fill what cannot be read, report each range on stderr, exit 1' }) as never,
  handler: (argv) =>
    withImage(argv, async (fs) => {
      if (argv.ignoreErrors) return catSalvaged(fs, argv.path);
      for await (const chunk of fs.createReadStream(argv.path)) await writeOut(chunk as Buffer);
    }),
};
