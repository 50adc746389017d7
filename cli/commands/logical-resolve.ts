import type { CommandModule } from 'yargs';
import { BackrefContext } from '../../lib/backref/context.js';
import { inodeNames } from '../../lib/backref/inode-paths.js';
import { logicalResolve, type ChunkInfo, type FileRange, type LogicalResolution } from '../../lib/backref/logical-resolve.js';
import { isBtrfsError, UsageError } from '../../lib/errors.js';
import type { Btrfs } from '../../lib/fs/btrfs.js';
import { EXIT, imageOptions, toJsonStrings, withImage, writeOut, type ImageArgs } from '../common.js';

export interface LogicalResolveArgs extends ImageArgs {
  logical: string;
}

export function parseU64(text: string, what: string): bigint {
  const t = text.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new UsageError(`${what} must be a decimal or 0x-hex number, not '${text}'`);
  const v = BigInt(t);
  if (v >= 2n ** 64n) throw new UsageError(`${what} ${text} does not fit in 64 bits`);
  return v;
}

/**
 * Back reference walks go on past inconsistencies (a reference to a missing tree, an unreadable block)
 * and note them; then the figures may be incomplete, which the user must hear about.
 */
export function warnProblems(ctx: BackrefContext): void {
  if (ctx.problemCount === 0) return;
  process.stderr.write(`btrfs-lens: warning: ${ctx.problemCount} inconsistent back reference(s), results may be incomplete; first: ${ctx.problems[0]?.message}\n`);
  process.exitCode = EXIT.PROBLEMS;
}

/** Paths from the top level of every subvolume, "" for the top level itself. */
async function subvolumePaths(fs: Btrfs): Promise<Map<bigint, string>> {
  const m = new Map<bigint, string>([[5n, '']]);
  for (const s of await fs.subvolumes()) m.set(s.id, s.path);
  return m;
}

/** Every path (hard links included) of each (subvolume, inode) behind the ranges, from the top level. */
async function pathsOf(fs: Btrfs, ranges: FileRange[]): Promise<Map<string, string[]>> {
  const subvols = await subvolumePaths(fs);
  const out = new Map<string, string[]>();
  for (const r of ranges) {
    const id = `${r.subvol}:${r.ino}`;
    if (out.has(id)) continue;
    try {
      const names = await inodeNames(fs.filesystem, r.subvol, r.ino);
      const top = subvols.get(r.subvol);
      const prefix = top === undefined ? `<subvolume ${r.subvol}>` : top === '' ? '' : `/${top}`;
      out.set(id, names.map((n) => (n.path === '/' ? prefix || '/' : prefix + n.path)));
    } catch (e) {
      if (!isBtrfsError(e)) throw e;
      out.set(id, [`<no path: ${e.message}>`]);
    }
  }
  return out;
}

function describeChunk(c: ChunkInfo | null): string {
  return c ? `chunk ${c.start}+${c.length} ${c.type} ${c.profile}` : 'no chunk';
}

function rangeLine(r: FileRange, paths: string[]): string[] {
  const what = `subvol ${r.subvol} inode ${r.ino} offset ${r.fileOffset} (file range ${r.itemOffset}+${r.itemLength}, extent offset ${r.extentOffset}${r.kind === 'prealloc' ? ', prealloc' : ''})`;
  return paths.map((p) => `  ${what}: ${p}`);
}

async function text(fs: Btrfs, res: LogicalResolution): Promise<string> {
  const head = `${res.logical}:`;
  if (res.kind === 'unallocated') {
    return `${head} not allocated: no extent item holds it; ${res.chunk ? `inside ${describeChunk(res.chunk)} (free space of that chunk)` : 'not inside any chunk'}\n`;
  }
  const ext = `extent ${res.extent.bytenr}+${res.extent.length} (refs ${res.extent.refs}, generation ${res.extent.generation}), ${describeChunk(res.chunk)}`;
  if (res.kind === 'tree-block') {
    return `${head} metadata: tree block level ${res.level ?? '?'} owned by tree ${res.owner ?? '?'}, reached from tree(s) ${res.roots.join(', ') || 'none'}; ${ext}\n`;
  }
  const lines = [`${head} data at offset ${res.offsetInExtent} of ${res.compressed ? 'compressed ' : ''}${ext}`];
  const paths = await pathsOf(fs, res.references);
  if (res.bookend) {
    lines.push(res.references.length
      ? `  bookend: no file range references this part of the extent; it stays allocated for these ranges elsewhere in it:`
      : '  allocated, but referenced by no file range');
    for (const r of res.references) lines.push(...rangeLine(r, paths.get(`${r.subvol}:${r.ino}`) ?? []));
  } else {
    if (res.compressed) lines.push('  compressed: every file range referencing the extent needs these bytes');
    for (const r of res.hits) lines.push(...rangeLine(r, paths.get(`${r.subvol}:${r.ino}`) ?? []));
  }
  return lines.join('\n') + '\n';
}

async function json(fs: Btrfs, res: LogicalResolution): Promise<unknown> {
  if (res.kind !== 'data') return res;
  const paths = await pathsOf(fs, res.references);
  const withPaths = (r: FileRange) => ({ ...r, paths: paths.get(`${r.subvol}:${r.ino}`) ?? [] });
  return { ...res, hits: res.hits.map(withPaths), references: res.references.map(withPaths) };
}

export const logicalResolveCommand: CommandModule<object, LogicalResolveArgs> = {
  command: 'logical-resolve <image> <logical>',
  describe: 'every (subvolume, path, file offset) whose data is at a logical address; says when it is a bookend or not allocated',
  builder: (y) => imageOptions(y).positional('logical', { type: 'string', demandOption: true, describe: 'logical address (decimal or 0x-hex)' }) as never,
  handler: (argv) =>
    withImage(argv, async (fs) => {
      const logical = parseU64(String(argv.logical), 'logical address');
      const ctx = await BackrefContext.create(fs.filesystem);
      const res = await logicalResolve(ctx, logical);
      await writeOut(argv.json ? toJsonStrings(await json(fs, res), 2) + '\n' : await text(fs, res));
      warnProblems(ctx);
    }),
};
