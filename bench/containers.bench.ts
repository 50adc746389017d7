// Reading through a container against reading the raw image, in one run: the bench image converted
// to qcow2 (qemu-img convert, uncompressed clusters, and -c deflate clusters) and to E01 (ewfacquire,
// fast deflate chunks, 1.5 GB segments), then the same whole-image `extract` of the top-level
// subvolume from each, cold cache, best of a few rounds. The aim (issue 15): within 1.3x of raw.

import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './run.js';
import { dropCaches, ensureDir, isRoot, mib, ratio, sh, timeLens, type Run } from './measure.js';

const ROUNDS = 2;
const AIM = 1.3;

/** Make `out` from the bench image with `command` unless an up-to-date one is there. */
function convert(ctx: BenchContext, out: string, command: string): void {
  if (existsSync(out) && statSync(out).mtimeMs > statSync(ctx.image).mtimeMs) return;
  process.stdout.write(`making ${out} ...\n`);
  sh(command);
}

export async function run(ctx: BenchContext): Promise<void> {
  if (!isRoot) process.stdout.write('(not root: caches are not dropped between runs)\n');
  const dir = join(ctx.scratch, 'containers');
  ensureDir(dir);
  const qcow2 = join(dir, 'bench.qcow2');
  const qcow2c = join(dir, 'bench-deflate.qcow2');
  const e01 = join(dir, 'bench.E01');
  convert(ctx, qcow2, `qemu-img convert -O qcow2 '${ctx.image}' '${qcow2}'`);
  convert(ctx, qcow2c, `qemu-img convert -c -O qcow2 '${ctx.image}' '${qcow2c}'`);
  convert(ctx, e01, `rm -f '${dir}'/bench.E?? && ewfacquire -u -q -t '${join(dir, 'bench')}' -c deflate:fast -S 1500000000 -C bench -e bench -N bench '${ctx.image}' > /dev/null`);
  const out = join(ctx.scratch, 'container-extract');
  const images: Array<[string, string]> = [['raw', ctx.image], ['qcow2', qcow2], ['qcow2 deflate', qcow2c], ['E01 (fast deflate)', e01]];
  const best = new Map<string, Run>();
  let peak = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const [label, image] of images) {
      rmSync(out, { recursive: true, force: true });
      sh('sync');
      dropCaches();
      const r = await timeLens(['extract', image, '/', '-o', out, '--one-subvolume']);
      if (r.code !== 0) throw new Error(`extract from ${label} failed (exit ${r.code}): ${r.stderr.slice(0, 300)}`);
      peak = Math.max(peak, r.peakRss ?? 0);
      const prev = best.get(label);
      if (!prev || r.seconds < prev.seconds) best.set(label, r);
    }
  }
  rmSync(out, { recursive: true, force: true });
  const raw = best.get('raw')!;
  const size = (p: string) => (p.endsWith('.E01') ? Number(sh(`cat '${p.slice(0, -4)}'.E?? | wc -c`).trim()) : statSync(p).size);
  const lines = [`whole-image extract of the top-level subvolume, cold cache, best of ${ROUNDS} rounds`, `image                      file size      time   vs raw`];
  let held = true;
  for (const [label, image] of images) {
    const r = best.get(label)!;
    const x = r.seconds / raw.seconds;
    if (label !== 'raw' && label !== 'qcow2 deflate' && x > AIM) held = false;
    lines.push(`  ${label.padEnd(22)} ${mib(size(image)).padStart(12)} ${r.seconds.toFixed(2).padStart(7)} s   ${ratio(r.seconds, raw.seconds).padStart(6)}`);
  }
  lines.push(`peak RSS over all runs: ${mib(peak)}`);
  lines.push(`aim: qcow2 and E01 within ${AIM}x of raw: ${held ? 'met' : 'NOT met'} (qcow2 deflate is shown for scale; every cluster is inflated)`);
  process.stdout.write(lines.join('\n') + '\n');
}
