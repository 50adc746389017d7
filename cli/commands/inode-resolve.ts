import type { CommandModule } from 'yargs';
import { inodeNames } from '../../lib/backref/inode-paths.js';
import { imageOptions, toJsonStrings, withImage, writeOut, type ImageArgs } from '../common.js';
import { parseU64 } from './logical-resolve.js';

export interface InodeResolveArgs extends ImageArgs {
  ino: string;
}

export const inodeResolveCommand: CommandModule<object, InodeResolveArgs> = {
  command: 'inode-resolve <image> <ino>',
  describe: 'every path of an inode (all hard links) in the subvolume given by --subvol (default: the top level)',
  builder: (y) => imageOptions(y).positional('ino', { type: 'string', demandOption: true, describe: 'inode number' }) as never,
  handler: (argv) =>
    withImage(argv, async (fs) => {
      const ino = parseU64(String(argv.ino), 'inode number');
      const subvol = fs.root.subvol;
      const names = await inodeNames(fs.filesystem, subvol, ino);
      if (argv.json) {
        const top = subvol === 5n ? '' : (await fs.subvolumes()).find((s) => s.id === subvol)?.path;
        const full = (p: string) => (top === undefined ? null : top === '' ? p : p === '/' ? `/${top}` : `/${top}${p}`);
        const rows = names.map((n) => ({ path: n.path, full_path: full(n.path), parent: n.parent, index: n.index, name: n.name.toString('utf8') }));
        return writeOut(toJsonStrings({ subvol, ino, paths: rows }, 2) + '\n');
      }
      return writeOut(names.map((n) => `${n.path}\n`).join(''));
    }),
};
