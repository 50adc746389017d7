import { stat } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import { checkImage, formatProblem, type CheckOptions, type CheckReport } from '../../lib/check/index.js';
import { IoError } from '../../lib/errors.js';
import { EXIT, imageOptions, toJson, writeOut, type ImageArgs } from '../common.js';
import { Progress } from '../progress.js';

export type CheckArgs = ImageArgs;

function summary(r: CheckReport): string {
  const s = r.stats;
  const counts = [
    `${s.devices} device(s)${s.missingDevices ? ` (${s.missingDevices} missing)` : ''}`,
    `${s.superblocks} superblock copies`,
    `${s.treeBlocks} tree blocks (${s.treeBlockCopies} copies)`,
    `${s.dataSectors} data sectors (${s.dataSectorCopies} copies)`,
  ];
  if (s.parityRows) counts.push(`${s.parityRows} parity rows`);
  if (s.skippedCopies) counts.push(`${s.skippedCopies} copies on missing devices skipped`);
  const total = r.problems.length + r.droppedProblems;
  return `checked ${counts.join(', ')}: ${total === 0 ? 'no problems' : `${total} problem(s)`}`;
}

export const checkCommand: CommandModule<object, CheckArgs> = {
  command: 'check <image>',
  describe: 'offline scrub: every superblock copy, tree block and checksummed data sector on every copy, and RAID5/6 parity (never writes)',
  builder: (y) => imageOptions(y) as never,
  handler: async (argv) => {
    const paths = [argv.image, ...(argv.device ?? [])];
    for (const p of paths) {
      // A path that is not there is a usage problem, not a finding about a filesystem.
      await stat(p).catch(() => { throw new IoError('cannot open image (ENOENT)', { device: p }); });
    }
    const options: CheckOptions = {};
    if (argv.partition !== undefined) options.partition = argv.partition;
    if (argv.offset !== undefined) options.offset = argv.offset;
    if (argv.super) options.superblockMirror = argv.super;
    if (argv.backing !== undefined) options.backing = argv.backing;
    if (argv.qcowSnapshot !== undefined) options.qcowSnapshot = String(argv.qcowSnapshot);
    const progress = new Progress('check');
    options.onProgress = (s) => progress.show(() => `${s.treeBlocks} tree blocks, ${s.dataSectors} data sectors${s.parityRows ? `, ${s.parityRows} parity rows` : ''}`);
    const r = await checkImage(paths, options).finally(() => progress.done());
    if (argv.json) {
      await writeOut(toJson(r, 2) + '\n');
    } else {
      const lines = r.problems.map(formatProblem);
      if (r.droppedProblems) lines.push(`... and ${r.droppedProblems} more problem(s)`);
      if (r.superblockMirror) lines.push(`opened from superblock copy ${r.superblockMirror}`);
      lines.push(summary(r));
      await writeOut(lines.join('\n') + '\n');
    }
    process.exitCode = r.clean ? EXIT.OK : EXIT.PROBLEMS;
  },
};
