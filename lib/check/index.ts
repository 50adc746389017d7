// `check`: an offline scrub. Superblock copies, every tree block and every checksummed data sector on
// every copy, RAID5/6 parity, and missing members; each problem located (device, physical, logical,
// tree, mirror) and, for data, the files that own it. Reads only: images are opened read-only and no
// repair is written anywhere.

import { BtrfsError, UsageError } from '../errors.js';
import { Filesystem, describeMissing, type FilesystemOptions } from '../fs/filesystem.js';
import { ObjectId } from '../ondisk/constants.js';
import { formatUuid } from '../ondisk/uuid.js';
import { DataChecker } from './data.js';
import { MetadataChecker } from './metadata.js';
import { OwnerResolver } from './owners.js';
import { checkParity, usedRanges } from './parity.js';
import { problemFrom, ProblemLog, type CheckProblem, type CheckStats } from './problem.js';
import { checkSuperblocks } from './superblocks.js';

export { formatProblem, type CheckProblem, type CheckStats, type OwningFile, type ProblemKind } from './problem.js';

export interface CheckReport {
  fsid: string | null;
  generation: bigint | null;
  /** Which superblock copy the filesystem was opened from (a later one when the primary is bad). */
  superblockMirror: number | null;
  devices: Array<{ devid: bigint; uuid: string; path: string | null }>;
  stats: CheckStats;
  problems: CheckProblem[];
  /** Problems past the report's cap, counted but not kept. */
  droppedProblems: number;
  clean: boolean;
}

export interface CheckOptions extends FilesystemOptions {
  /** Stop keeping problems past this many (default 100000); they are still counted. */
  maxProblems?: number;
  /** Told of the running counts as the check goes (often: throttle what it does). */
  onProgress?: (stats: Readonly<CheckStats>) => void;
}

/** Open `paths` (trying the backup superblocks when the primary is unusable) and check everything. */
export async function checkImage(paths: string[], options: CheckOptions = {}): Promise<CheckReport> {
  const log = new ProblemLog(options.maxProblems);
  log.onProgress = options.onProgress;
  const mirrors = options.superblockMirror !== undefined ? [options.superblockMirror] : [0, 1, 2];
  let fs: Filesystem | undefined;
  let used = 0;
  let firstError: unknown;
  for (const mirror of mirrors) {
    try {
      fs = await Filesystem.open(paths, { ...options, superblockMirror: mirror });
      used = mirror;
      break;
    } catch (e) {
      if (!(e instanceof BtrfsError) || e instanceof UsageError) throw e;
      firstError ??= e;
    }
  }
  if (!fs) {
    log.add(problemFrom('open', firstError, {}));
    return report(undefined, log, null);
  }
  try {
    await checkFilesystem(fs, log);
    return report(fs, log, used);
  } finally {
    await fs.close();
  }
}

/** Check an opened filesystem into `log`. */
export async function checkFilesystem(fs: Filesystem, log: ProblemLog): Promise<void> {
  log.stats.devices = fs.devItems.size;
  log.stats.missingDevices = fs.missingDevices.length;
  for (const d of fs.missingDevices) {
    log.add({ kind: 'device', code: 'EBTRFSMISSINGDEV', devid: d.devid, message: `device ${describeMissing(d)} is missing` });
  }
  await checkSuperblocks(fs.devices.devices.values(), fs.superblock, fs.checksummer, log);
  const meta = await new MetadataChecker(fs, log).run();
  const data = new DataChecker(fs, log);
  await data.run(meta.leaves.get(ObjectId.CSUM_TREE) ?? []);
  const used = await usedRanges(fs, meta.leaves.get(ObjectId.EXTENT_TREE) ?? []);
  for (const b of meta.blocks) used.push([b, b + BigInt(fs.nodesize)]);
  await checkParity(fs, used, log);
  await new OwnerResolver(fs).resolve(data.found);
}

function report(fs: Filesystem | undefined, log: ProblemLog, mirror: number | null): CheckReport {
  return {
    fsid: fs ? formatUuid(fs.superblock.fsid) : null,
    generation: fs ? fs.superblock.generation : null,
    superblockMirror: mirror,
    devices: fs
      ? [...fs.devItems.values()].sort((a, b) => (a.devid < b.devid ? -1 : 1)).map((d) => ({
        devid: d.devid, uuid: formatUuid(d.uuid), path: fs.devices.devices.get(d.devid)?.source.name ?? null,
      }))
      : [],
    stats: log.stats,
    problems: log.problems,
    droppedProblems: log.dropped,
    clean: log.count === 0,
  };
}
