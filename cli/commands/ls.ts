import type { CommandModule } from 'yargs';
import { entryInfo } from '../../lib/fs/entry-info.js';
import { formatTimeNs } from '../../lib/fs/time.js';
import { splitDev } from '../../lib/fs/stats.js';
import { walk, type WalkEntry } from '../../lib/fs/walk.js';
import { BtrfsError } from '../../lib/errors.js';
import { DamageReport } from '../../lib/reader/salvage.js';
import type { Btrfs } from '../../lib/index.js';
import { EXIT, imageOptions, modeString, toJson, withImage, writeOut, type ImageArgs } from '../common.js';

export interface LsArgs extends ImageArgs {
  path: string;
  recursive?: boolean;
  ignoreErrors?: boolean;
}

/**
 * --ignore-errors: an entry whose symlink target or xattrs cannot be read is still listed, with what
 * its inode says; the problem is reported.
 */
async function lineThroughDamage(fs: Btrfs, e: WalkEntry, json: boolean, name: string, report: DamageReport): Promise<string> {
  try {
    return await line(fs, e, json, name);
  } catch (err) {
    if (!(err instanceof BtrfsError)) throw err;
    report.entry(e.path, err);
    const partial: WalkEntry = { ...e, kind: e.kind === 'symlink' ? 'unknown' : e.kind };
    if (!json) return line(fs, partial, false, name).catch(() => name);
    const f = e.facts;
    return toJson({ path: e.path, type: e.kind, subvol: Number(f.subvol), ino: Number(f.ino), mode: f.mode, uid: f.uid, gid: f.gid, size: Number(f.size), nlink: f.nlink, damaged: err.message });
  }
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
      .option('recursive', { alias: 'R', type: 'boolean', describe: 'list the whole tree, the starting path included' })
      .option('ignore-errors', { type: 'boolean', describe: 'read through damage: list what can be read, report each problem on stderr, exit 1' }) as never,
  handler: (argv) =>
    withImage(argv, async (fs) => {
      const json = argv.json === true;
      const report = new DamageReport((l) => process.stderr.write(`btrfs-lens: ${l}\n`));
      const ignore = argv.ignoreErrors === true;
      const walkOptions = ignore ? { onError: report.entry } : {};
      const show = (e: WalkEntry, name: string) => (ignore ? lineThroughDamage(fs, e, json, name, report) : line(fs, e, json, name));
      let batch: string[] = [];
      const flush = async () => {
        if (batch.length) await writeOut(batch.join('\n') + '\n');
        batch = [];
        if (report.count) process.exitCode = EXIT.PROBLEMS;
      };
      if (argv.recursive) {
        for await (const e of walk(fs, argv.path, { follow: false, ...walkOptions })) {
          batch.push(await show(e, e.path));
          if (batch.length >= 256) await flush();
        }
        return flush();
      }
      let first = true;
      for await (const e of walk(fs, argv.path, { follow: true, maxDepth: 1, ...walkOptions })) {
        if (first) {
          first = false;
          if (e.kind !== 'dir') {
            batch.push(await show(e, e.path));
            break;
          }
          continue;
        }
        if (e.depth > 1) continue;
        batch.push(await show(e, json ? e.path : e.path.slice(e.path.lastIndexOf('/') + 1)));
        if (batch.length >= 256) await flush();
      }
      return flush();
    }),
};
