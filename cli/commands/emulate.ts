import type { CommandModule } from 'yargs';
import { RECLAIM_POLICIES, type ReclaimPolicy } from '../../lib/cache/page-cache.js';
import { CACHE_POLICIES, type CachePolicy } from '../../lib/cache/page-key.js';
import { UsageError } from '../../lib/errors.js';
import { emulate, formatReport, parseSize, readAll, traceOps, validateTrace, WORKLOADS } from '../../lib/emulate/index.js';
import { imageOptions, toJson, withImage, writeOut, type ImageArgs } from '../common.js';
import { Progress } from '../progress.js';

/** The operations as they are handed to the emulator, counted for the progress line. */
async function* counted<T>(ops: AsyncIterable<T> | Iterable<T>, onCount: (n: number) => void): AsyncGenerator<T> {
  let n = 0;
  for await (const op of ops) {
    onCount(++n);
    yield op;
  }
}

export interface EmulateArgs extends ImageArgs {
  workload?: string;
  trace?: string;
  policy: 'per-inode' | 'logical' | 'both';
  memory: string;
  reclaim: ReclaimPolicy;
  readahead: string;
}

export const emulateCommand: CommandModule<object, EmulateArgs> = {
  command: 'emulate <image>',
  describe: 'run a workload through the read path under a per-inode page cache (the kernel today) and one keyed by logical address, and compare the work',
  builder: (y) =>
    imageOptions(y)
      .option('workload', { choices: WORKLOADS, describe: 'built-in workload (default read-all: every file of every subvolume, in 128 KiB reads)' })
      .option('trace', { type: 'string', describe: 'JSON Lines trace of operations (read, write, dio-read, dio-write, mmap-read, mmap-write, fsync, reflink, snapshot, unlink, truncate, drop-caches)' })
      .conflicts('workload', 'trace')
      .option('policy', { choices: [...CACHE_POLICIES, 'both'] as const, default: 'both' as const, describe: 'cache policy to emulate' })
      .option('memory', { type: 'string', default: 'unlimited', describe: 'page cache budget (e.g. 64M, 1G)' })
      .option('reclaim', { choices: RECLAIM_POLICIES, default: 'active-inactive' as ReclaimPolicy, describe: 'eviction under the budget: the kernel\'s active/inactive lists, or plain LRU' })
      .option('readahead', { type: 'string', default: '128K', describe: 'readahead window for uncompressed extents' }) as never,
  handler: async (argv) => {
    const memoryBytes = parseSize(argv.memory, '--memory');
    const readaheadBytes = parseSize(argv.readahead, '--readahead');
    if (!Number.isFinite(readaheadBytes) || readaheadBytes < 1) throw new UsageError('--readahead must be a size of at least one byte');
    const policies: CachePolicy[] = argv.policy === 'both' ? [...CACHE_POLICIES] : [argv.policy];
    // A trace is checked whole before the image is even opened.
    const traceLength = argv.trace !== undefined ? await validateTrace(argv.trace) : undefined;
    const workload = argv.trace !== undefined ? `trace ${argv.trace}` : (argv.workload ?? 'read-all');
    await withImage(argv, async (fs) => {
      const ops = argv.trace !== undefined ? traceOps(argv.trace) : readAll(fs);
      const progress = new Progress('emulate');
      const report = await emulate(fs, workload, counted(ops, (n) => progress.show(() => `${n}${traceLength !== undefined ? ` of ${traceLength}` : ''} operations`)), {
        policies, memoryBytes, reclaim: argv.reclaim, readaheadBytes,
      }).finally(() => progress.done());
      await writeOut(argv.json ? toJson({ image: argv.image, ...report }) + '\n' : formatReport(report, argv.image));
    });
  },
};
