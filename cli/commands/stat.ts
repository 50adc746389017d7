import type { CommandModule } from 'yargs';
import { entryInfo } from '../../lib/fs/entry-info.js';
import { kindOfMode } from '../../lib/fs/stats.js';
import { imageOptions, modeString, toJson, withImage, writeOut, type ImageArgs } from '../common.js';

export interface StatArgs extends ImageArgs {
  paths: string[];
  follow?: boolean;
}

export const statCommand: CommandModule<object, StatArgs> = {
  command: 'stat <image> <paths..>',
  describe: 'inode details of paths (symlinks are not followed unless -L)',
  builder: (y) =>
    imageOptions(y)
      .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'paths inside the filesystem' })
      .option('follow', { alias: 'L', type: 'boolean', describe: 'follow symlinks' }) as never,
  handler: (argv) =>
    withImage(argv, async (fs) => {
      const out: string[] = [];
      for (const path of argv.paths) {
        const node = await fs.node(path, argv.follow === true, 'stat');
        const facts = await fs.facts(node);
        const info = await entryInfo(fs, { path, name: Buffer.from(path.slice(path.lastIndexOf('/') + 1), 'utf8'), node, facts, kind: kindOfMode(facts.mode), depth: 0 });
        if (argv.json) {
          out.push(toJson({ ...info, blocks: facts.nbytes, generation: facts.generation, flags: facts.flags }));
          continue;
        }
        out.push(
          `  File: ${path}${info.target !== undefined ? ` -> ${info.target}` : ''}`,
          `  Size: ${info.size}\tType: ${info.type}\tSubvolume: ${info.subvol}`,
          `Inode: ${info.ino}\tLinks: ${info.nlink}${info.rdev ? `\tDevice type: ${info.rdev[0]},${info.rdev[1]}` : ''}`,
          `Access: (${(info.mode & 0o7777).toString(8).padStart(4, '0')}/${modeString(info.mode)})  Uid: ${info.uid}  Gid: ${info.gid}`,
          `Access: ${info.atime}`, `Modify: ${info.mtime}`, `Change: ${info.ctime}`, ` Birth: ${info.otime}`,
          ...Object.keys(info.xattrs).map((n) => ` Xattr: ${n} (${Buffer.from(info.xattrs[n]!, 'base64').length} bytes)`),
        );
      }
      return writeOut(out.join('\n') + '\n');
    }),
};
