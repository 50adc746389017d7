import type { CommandModule } from 'yargs';
import { entryInfo } from '../../lib/fs/entry-info.js';
import { formatTimeNs } from '../../lib/fs/time.js';
import { splitDev } from '../../lib/fs/stats.js';
import { walk, type WalkEntry } from '../../lib/fs/walk.js';
import type { Btrfs } from '../../lib/index.js';
import { imageOptions, modeString, toJson, withImage, writeOut, type ImageArgs } from '../common.js';

export interface LsArgs extends ImageArgs {
  path: string;
  recursive?: boolean;
}

async function line(fs: Btrfs, e: WalkEntry, json: boolean, name: string): Promise<string> {
  if (json) return toJson(await entryInfo(fs, e));
  const f = e.facts;
  let size = String(f.size);
  if (e.kind === 'chr' || e.kind === 'blk') {
    const { major, minor } = splitDev(f.rdev);
    size = `${major}, ${minor}`;
  }
  const target = e.kind === 'symlink' ? ` -> ${(await fs.readlinkNode(e.node)).toString('utf8')}` : '';
  const when = formatTimeNs(f.mtimeNs).replace('T', ' ').replace('Z', '');
  return `${modeString(f.mode)} ${String(f.nlink).padStart(3)} ${String(f.uid).padStart(5)} ${String(f.gid).padStart(5)} ${size.padStart(10)} ${when} ${name}${target}`;
}

export const lsCommand: CommandModule<object, LsArgs> = {
  command: 'ls <image> [path]',
  describe: 'list a directory (or, with -R, a whole tree); --json prints one object per line',
  builder: (y) =>
    imageOptions(y)
      .positional('path', { type: 'string', default: '/', describe: 'path inside the filesystem' })
      .option('recursive', { alias: 'R', type: 'boolean', describe: 'list the whole tree, the starting path included' }) as never,
  handler: (argv) =>
    withImage(argv, async (fs) => {
      const json = argv.json === true;
      let batch: string[] = [];
      const flush = async () => {
        if (batch.length) await writeOut(batch.join('\n') + '\n');
        batch = [];
      };
      if (argv.recursive) {
        for await (const e of walk(fs, argv.path, { follow: false })) {
          batch.push(await line(fs, e, json, e.path));
          if (batch.length >= 256) await flush();
        }
        return flush();
      }
      let first = true;
      for await (const e of walk(fs, argv.path, { follow: true })) {
        if (first) {
          first = false;
          if (e.kind !== 'dir') {
            batch.push(await line(fs, e, json, e.path));
            break;
          }
          continue;
        }
        if (e.depth > 1) continue;
        batch.push(await line(fs, e, json, json ? e.path : e.path.slice(e.path.lastIndexOf('/') + 1)));
        if (batch.length >= 256) await flush();
      }
      return flush();
    }),
};
