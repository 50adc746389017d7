// Reader throughput against its peers, in one run: `btrfs-lens extract` vs `btrfs restore`
// (btrfs-progs, verifies no data checksums) vs the kernel (read-only mount, cold cache, tar of the
// tree), and `btrfs-lens ls -R` vs `ls -R` on the kernel mount, plus btrfs-lens's peak memory.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './run.js';
import { dropCaches, ensureDir, isRoot, mib, mountReadOnly, ratio, sh, timeLens, timeShell, type Run } from './measure.js';

function check(run: Run, what: string): Run {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}): ${run.stderr.slice(0, 500)}`);
  return run;
}

const ROUNDS = 3;

export async function run(ctx: BenchContext): Promise<void> {
  if (!isRoot) process.stdout.write('(not root: caches are not dropped and the kernel peer is skipped)\n');
  ensureDir(ctx.scratch);
  const lensOut = join(ctx.scratch, 'lens-extract');
  const restoreOut = join(ctx.scratch, 'restore');
  const mnt = join(ctx.scratch, 'mnt');
  rmSync(lensOut, { recursive: true, force: true });
  rmSync(restoreOut, { recursive: true, force: true });

  // What both tools extract: the top-level subvolume only (btrfs restore without -s does the same).
  // Three rounds, the tools taking turns, each from a cold cache; each tool's best round is
  // compared (and btrfs-lens's peak memory is its worst round).
  let dataBytes = 0;
  const best = (a: Run | undefined, b: Run): Run => (a && a.seconds <= b.seconds ? a : b);
  // Each extraction starts on a quiet disk: the previous outputs deleted and written back (one
  // tool's 1.2 GiB of write-back running under the next one's timing is what made runs swing).
  const quiet = async (f: () => Promise<Run>): Promise<Run> => {
    rmSync(lensOut, { recursive: true, force: true });
    rmSync(restoreOut, { recursive: true, force: true });
    sh('sync');
    dropCaches();
    return f();
  };
  let kernelTar: Run | undefined;
  let kernelLs: Run | undefined;
  let lens: Run | undefined;
  let restore: Run | undefined;
  let lsR: Run | undefined;
  let lensPeak = 0;
  let lsPeak = 0;
  for (let round = 0; round < ROUNDS; round++) {
    if (isRoot) {
      const umount = mountReadOnly(ctx.image, mnt);
      try {
        if (!dataBytes) dataBytes = Number(sh(`du -sb --apparent-size -x '${mnt}' | cut -f1`).trim());
        dropCaches();
        kernelTar = best(kernelTar, check(await timeShell(`tar --one-file-system -cf - -C '${mnt}' . | cat > /dev/null`), 'kernel tar'));
        dropCaches();
        kernelLs = best(kernelLs, check(await timeShell(`ls -lR '${mnt}' > /dev/null`), 'kernel ls -lR'));
      } finally {
        umount();
      }
    }
    const l = await quiet(() => timeLens(['extract', ctx.image, '/', '-o', lensOut, '--one-subvolume']));
    check(l, 'btrfs-lens extract');
    lens = best(lens, l);
    lensPeak = Math.max(lensPeak, l.peakRss ?? 0);
    if (!dataBytes) dataBytes = Number(sh(`du -sb --apparent-size '${lensOut}' | cut -f1`).trim());
    restore = best(restore, check(await quiet(() => (ensureDir(restoreOut), timeShell(`btrfs restore -i '${ctx.image}' '${restoreOut}' > /dev/null`))), 'btrfs restore'));
    dropCaches();
    const r = check(await timeLens(['ls', '-R', ctx.image, '/']), 'btrfs-lens ls -R');
    lsR = best(lsR, r);
    lsPeak = Math.max(lsPeak, r.peakRss ?? 0);
  }
  rmSync(lensOut, { recursive: true, force: true });
  rmSync(restoreOut, { recursive: true, force: true });
  if (!lens || !restore || !lsR) throw new Error('no rounds ran');

  const rate = (r: Run) => `${(dataBytes / 1048576 / r.seconds).toFixed(0)} MiB/s`;
  const lines = [
    `file data in the top-level subvolume: ${mib(dataBytes)}; best of ${ROUNDS} rounds, tools taking turns, cold cache each time`,
    `extract (cold cache)      time      throughput  vs btrfs-lens`,
    `  btrfs-lens extract      ${lens.seconds.toFixed(2).padStart(6)} s  ${rate(lens).padStart(11)}  1.00x   (peak RSS ${mib(lensPeak)}, every data checksum verified)`,
    `  btrfs restore           ${restore.seconds.toFixed(2).padStart(6)} s  ${rate(restore).padStart(11)}  ${ratio(restore.seconds, lens.seconds)}   (verifies no data checksums)`,
  ];
  if (kernelTar) lines.push(`  kernel mount + tar      ${kernelTar.seconds.toFixed(2).padStart(6)} s  ${rate(kernelTar).padStart(11)}  ${ratio(kernelTar.seconds, lens.seconds)}`);
  lines.push(`ls -R (cold cache)`);
  lines.push(`  btrfs-lens ls -R        ${lsR.seconds.toFixed(2).padStart(6)} s                1.00x   (peak RSS ${mib(lsPeak)})`);
  if (kernelLs) lines.push(`  kernel ls -lR           ${kernelLs.seconds.toFixed(2).padStart(6)} s               ${ratio(kernelLs.seconds, lsR.seconds)}`);
  lines.push(`ratios are peer time / btrfs-lens time: above 1.00x means btrfs-lens is faster`);
  // The reader issue's aims, judged on this run's numbers.
  const peak = Math.max(lensPeak, lsPeak);
  lines.push(
    `aim extract at least as fast as btrfs restore: ${ratio(restore.seconds, lens.seconds).trim()} ${lens.seconds <= restore.seconds ? 'met' : 'NOT met'}; ` +
      `peak RSS under 256 MiB: ${mib(peak)} ${peak < 256 * 1048576 ? 'met' : 'NOT met'}`,
  );
  process.stdout.write(lines.join('\n') + '\n');
}
