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

export async function run(ctx: BenchContext): Promise<void> {
  if (!isRoot) process.stdout.write('(not root: caches are not dropped and the kernel peer is skipped)\n');
  ensureDir(ctx.scratch);
  const lensOut = join(ctx.scratch, 'lens-extract');
  const restoreOut = join(ctx.scratch, 'restore');
  const mnt = join(ctx.scratch, 'mnt');
  rmSync(lensOut, { recursive: true, force: true });
  rmSync(restoreOut, { recursive: true, force: true });

  // What both tools extract: the top-level subvolume only (btrfs restore without -s does the same).
  let dataBytes = 0;
  let kernelTar: Run | undefined;
  let kernelLs: Run | undefined;
  if (isRoot) {
    const umount = mountReadOnly(ctx.image, mnt);
    try {
      dataBytes = Number(sh(`du -sb --apparent-size -x '${mnt}' | cut -f1`).trim());
      dropCaches();
      kernelTar = check(await timeShell(`tar --one-file-system -cf - -C '${mnt}' . | cat > /dev/null`), 'kernel tar');
      dropCaches();
      kernelLs = check(await timeShell(`ls -lR '${mnt}' > /dev/null`), 'kernel ls -lR');
    } finally {
      umount();
    }
  }
  dropCaches();
  const lens = check(await timeLens(['extract', ctx.image, '/', '-o', lensOut, '--one-subvolume']), 'btrfs-lens extract');
  dropCaches();
  ensureDir(restoreOut);
  const restore = check(await timeShell(`btrfs restore -i '${ctx.image}' '${restoreOut}' > /dev/null`), 'btrfs restore');
  dropCaches();
  const lsR = check(await timeLens(['ls', '-R', ctx.image, '/']), 'btrfs-lens ls -R');
  if (!dataBytes) dataBytes = Number(sh(`du -sb --apparent-size '${lensOut}' | cut -f1`).trim());
  rmSync(lensOut, { recursive: true, force: true });
  rmSync(restoreOut, { recursive: true, force: true });

  const rate = (r: Run) => `${(dataBytes / 1048576 / r.seconds).toFixed(0)} MiB/s`;
  const lines = [
    `file data in the top-level subvolume: ${mib(dataBytes)}`,
    `extract (cold cache)      time      throughput  vs btrfs-lens`,
    `  btrfs-lens extract      ${lens.seconds.toFixed(2).padStart(6)} s  ${rate(lens).padStart(11)}  1.00x   (peak RSS ${mib(lens.peakRss ?? 0)}, every data checksum verified)`,
    `  btrfs restore           ${restore.seconds.toFixed(2).padStart(6)} s  ${rate(restore).padStart(11)}  ${ratio(restore.seconds, lens.seconds)}   (verifies no data checksums)`,
  ];
  if (kernelTar) lines.push(`  kernel mount + tar      ${kernelTar.seconds.toFixed(2).padStart(6)} s  ${rate(kernelTar).padStart(11)}  ${ratio(kernelTar.seconds, lens.seconds)}`);
  lines.push(`ls -R (cold cache)`);
  lines.push(`  btrfs-lens ls -R        ${lsR.seconds.toFixed(2).padStart(6)} s                1.00x   (peak RSS ${mib(lsR.peakRss ?? 0)})`);
  if (kernelLs) lines.push(`  kernel ls -lR           ${kernelLs.seconds.toFixed(2).padStart(6)} s               ${ratio(kernelLs.seconds, lsR.seconds)}`);
  lines.push(`ratios are peer time / btrfs-lens time: above 1.00x means btrfs-lens is faster`);
  process.stdout.write(lines.join('\n') + '\n');
}
