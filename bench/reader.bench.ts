// The reader against its peers, as users run it, in one run, each timing from a cold cache, tools
// taking turns, best of three rounds:
// - the whole bench image, every subvolume and snapshot: `btrfs-lens extract` against
//   `btrfs restore -s -x -m -S` (btrfs-progs, verifies no data checksums) and the kernel (read-only
//   mount, tar of the whole tree, snapshots included);
// - the top-level subvolume alone (the same three, without snapshots);
// - `btrfs-lens cat` of a 128 MiB zstd file and `ls -R` of the bench image, with their peak RSS;
// - the many-files image (200,000 small files, bench/make-many-files-image.sh): `ls -R --json`
//   against the kernel's `find -printf` over a fresh mount, and extract against btrfs restore.
// Each aim of the reader issue is judged on this run's numbers at the end.

import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BenchContext } from './run.js';
import { dropCaches, ensureDir, isRoot, mib, mountReadOnly, ratio, sh, timeLens, timeShell, type Run } from './measure.js';

const ROUNDS = 3;

function check(run: Run, what: string): Run {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}): ${run.stderr.slice(0, 500)}`);
  return run;
}

/** Best time of the rounds, worst peak RSS (the claim about memory must hold in every round). */
class Best {
  run: Run | undefined;
  peak = 0;
  add(r: Run): void {
    if (!this.run || r.seconds < this.run.seconds) this.run = r;
    this.peak = Math.max(this.peak, r.peakRss ?? 0);
  }
  get seconds(): number {
    return this.run?.seconds ?? NaN;
  }
}

export async function run(ctx: BenchContext): Promise<void> {
  if (!isRoot) {
    process.stdout.write('(not root: caches cannot be dropped and the kernel cannot be mounted; the reader bench needs root)\n');
    return;
  }
  ensureDir(ctx.scratch);
  const out = (name: string) => join(ctx.scratch, name);
  const mnt = out('mnt');
  const clean = () => {
    for (const d of ['lens', 'restore']) rmSync(out(d), { recursive: true, force: true });
    sh('sync');
  };
  // Each timing starts on a quiet disk (the previous output deleted and written back) and a cold cache.
  const cold = async (f: () => Promise<Run>): Promise<Run> => {
    clean();
    dropCaches();
    return f();
  };
  const kernel = async (image: string, command: (m: string) => string): Promise<Run> => {
    dropCaches();
    const umount = mountReadOnly(image, mnt);
    try {
      return await timeShell(command(mnt));
    } finally {
      umount();
    }
  };
  const du = (image: string, oneFs: boolean): number => {
    const umount = mountReadOnly(image, mnt);
    try {
      return Number(sh(`du -sb --apparent-size ${oneFs ? '-x' : ''} '${mnt}' | cut -f1`).trim());
    } finally {
      umount();
    }
  };

  const image = ctx.image;
  const whole = { lens: new Best(), restore: new Best(), kernel: new Best() };
  const top = { lens: new Best(), restore: new Best(), kernel: new Best() };
  const cat = new Best();
  const lsR = { lens: new Best(), kernel: new Best() };
  const wholeBytes = du(image, false);
  const topBytes = du(image, true);
  for (let round = 0; round < ROUNDS; round++) {
    whole.kernel.add(check(await kernel(image, (m) => `tar -cf - -C '${m}' . | cat > /dev/null`), 'kernel tar (whole image)'));
    whole.lens.add(check(await cold(() => timeLens(['extract', image, '/', '-o', out('lens')])), 'btrfs-lens extract (whole image)'));
    whole.restore.add(check(await cold(() => (ensureDir(out('restore')), timeShell(`btrfs restore -s -x -m -S -i '${image}' '${out('restore')}' > /dev/null`))), 'btrfs restore -s'));
    top.kernel.add(check(await kernel(image, (m) => `tar --one-file-system -cf - -C '${m}' . | cat > /dev/null`), 'kernel tar (top level)'));
    top.lens.add(check(await cold(() => timeLens(['extract', image, '/', '-o', out('lens'), '--one-subvolume'])), 'btrfs-lens extract (top level)'));
    top.restore.add(check(await cold(() => (ensureDir(out('restore')), timeShell(`btrfs restore -x -m -S -i '${image}' '${out('restore')}' > /dev/null`))), 'btrfs restore'));
    dropCaches();
    cat.add(check(await timeLens(['cat', image, '/zstd/text-01.txt']), 'btrfs-lens cat'));
    dropCaches();
    lsR.lens.add(check(await timeLens(['ls', '-R', image, '/']), 'btrfs-lens ls -R'));
    lsR.kernel.add(check(await kernel(image, (m) => `ls -lR '${m}' > /dev/null`), 'kernel ls -lR'));
  }
  clean();

  const many = join(dirname(image), 'many-files.img');
  const manyRuns = existsSync(many) ? { ls: new Best(), find: new Best(), lens: new Best(), restore: new Best() } : undefined;
  if (manyRuns) {
    const fields = '%p\\t%y\\t%i\\t%m\\t%U\\t%G\\t%s\\t%n\\t%A@\\t%T@\\t%C@\\t%B@\\n';
    for (let round = 0; round < ROUNDS; round++) {
      dropCaches();
      manyRuns.ls.add(check(await timeLens(['ls', '-R', '--json', many, '/']), 'btrfs-lens ls -R --json (many files)'));
      manyRuns.find.add(check(await kernel(many, (m) => `find '${m}' -printf '${fields}' > /dev/null`), 'kernel find -printf'));
      manyRuns.lens.add(check(await cold(() => timeLens(['extract', many, '/', '-o', out('lens')])), 'btrfs-lens extract (many files)'));
      manyRuns.restore.add(check(await cold(() => (ensureDir(out('restore')), timeShell(`btrfs restore -s -x -m -S -i '${many}' '${out('restore')}' > /dev/null`))), 'btrfs restore (many files)'));
    }
    clean();
  }

  const rate = (bytes: number, r: Best) => `${(bytes / 1048576 / r.seconds).toFixed(0)} MiB/s`.padStart(11);
  const t = (r: Best) => `${r.seconds.toFixed(2).padStart(6)} s`;
  const lines = [
    `best of ${ROUNDS} rounds, tools taking turns, cold cache each time; ratios are peer time / btrfs-lens time (above 1.00x: btrfs-lens is faster)`,
    `whole image, every subvolume and snapshot: ${mib(wholeBytes)} of file data`,
    `  btrfs-lens extract        ${t(whole.lens)}  ${rate(wholeBytes, whole.lens)}  1.00x   (peak RSS ${mib(whole.lens.peak)}, every data checksum verified)`,
    `  btrfs restore -s -x -m -S ${t(whole.restore)}  ${rate(wholeBytes, whole.restore)}  ${ratio(whole.restore.seconds, whole.lens.seconds)}   (verifies no data checksums)`,
    `  kernel mount + tar        ${t(whole.kernel)}  ${rate(wholeBytes, whole.kernel)}  ${ratio(whole.kernel.seconds, whole.lens.seconds)}`,
    `top-level subvolume only: ${mib(topBytes)}`,
    `  btrfs-lens extract -x     ${t(top.lens)}  ${rate(topBytes, top.lens)}  1.00x   (peak RSS ${mib(top.lens.peak)})`,
    `  btrfs restore -x -m -S    ${t(top.restore)}  ${rate(topBytes, top.restore)}  ${ratio(top.restore.seconds, top.lens.seconds)}`,
    `  kernel mount + tar -l     ${t(top.kernel)}  ${rate(topBytes, top.kernel)}  ${ratio(top.kernel.seconds, top.lens.seconds)}`,
    `cat /zstd/text-01.txt (128 MiB zstd)`,
    `  btrfs-lens cat            ${t(cat)}  ${rate(128 * 1048576, cat)}          (peak RSS ${mib(cat.peak)})`,
    `ls -R of the bench image`,
    `  btrfs-lens ls -R          ${t(lsR.lens)}                      (peak RSS ${mib(lsR.lens.peak)})`,
    `  kernel ls -lR             ${t(lsR.kernel)}               ${ratio(lsR.kernel.seconds, lsR.lens.seconds)}`,
  ];
  if (manyRuns) {
    lines.push(
      `many-files image: 200,000 small files`,
      `  btrfs-lens ls -R --json   ${t(manyRuns.ls)}                      (peak RSS ${mib(manyRuns.ls.peak)})`,
      `  kernel find -printf       ${t(manyRuns.find)}               ${ratio(manyRuns.find.seconds, manyRuns.ls.seconds)}   (fresh mount)`,
      `  btrfs-lens extract        ${t(manyRuns.lens)}                      (peak RSS ${mib(manyRuns.lens.peak)})`,
      `  btrfs restore -s -x -m -S ${t(manyRuns.restore)}               ${ratio(manyRuns.restore.seconds, manyRuns.lens.seconds)}`,
    );
  } else lines.push(`many-files image not found beside the bench image: build it with \`sudo bash bench/make-many-files-image.sh\``);

  // The reader issue's aims, judged on this run's numbers.
  const aim = (what: string, value: string, met: boolean) => `  ${met ? 'met    ' : 'NOT met'} ${what}: ${value}`;
  const peak = Math.max(whole.lens.peak, top.lens.peak, cat.peak, lsR.lens.peak);
  lines.push('aims');
  lines.push(aim('whole-image extract at least 1.5x faster than btrfs restore -s', ratio(whole.restore.seconds, whole.lens.seconds), whole.restore.seconds >= 1.5 * whole.lens.seconds));
  lines.push(aim('whole-image extract at least 1.2x faster than the kernel mount + tar', ratio(whole.kernel.seconds, whole.lens.seconds), whole.kernel.seconds >= 1.2 * whole.lens.seconds));
  lines.push(aim('top-level extract at least as fast as btrfs restore', ratio(top.restore.seconds, top.lens.seconds), top.restore.seconds >= top.lens.seconds));
  lines.push(aim('peak RSS of extract, cat and ls -R at most 256 MiB', mib(peak), peak <= 256 * 1048576));
  if (manyRuns) {
    const manyPeak = Math.max(manyRuns.ls.peak, manyRuns.lens.peak);
    lines.push(aim('200,000 files: ls -R --json and extract peak RSS at most 200 MiB', mib(manyPeak), manyPeak <= 200 * 1048576));
    lines.push(aim('200,000 files: ls -R within 1.5x of the kernel find -printf', ratio(manyRuns.ls.seconds, manyRuns.find.seconds), manyRuns.ls.seconds <= 1.5 * manyRuns.find.seconds));
  }
  process.stdout.write(lines.join('\n') + '\n');
}
