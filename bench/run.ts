// `npm run bench`: runs every bench/*.bench.ts section in turn against the large bench image (built
// by bench/make-bench-image.sh, not committed) and prints ratios against real peers measured in the
// same run. Each section is a module exporting `run(ctx)`.

import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchContext {
  /** The big bench image (>= 1 GiB of file data, 20,000+ small files, snapshots of /base). */
  image: string;
  /** Folder for scratch output. */
  scratch: string;
  /** Only run sections whose name contains this. */
  filter: string | undefined;
}

const here = dirname(fileURLToPath(import.meta.url));
const image = process.env.BTRFS_LENS_BENCH_IMAGE ?? '/tmp/btrfs-lens-bench/bench.img';
if (!existsSync(image)) {
  process.stderr.write(`bench image ${image} not found: build it with \`sudo bash bench/make-bench-image.sh\` (or set BTRFS_LENS_BENCH_IMAGE)\n`);
  process.exit(2);
}
// Extractions write to tmpfs where there is one, as the reader issue measured: the destination's
// own speed is not what is compared (the kernel's tar writes to a pipe).
const scratch = process.env.BTRFS_LENS_BENCH_SCRATCH ?? (existsSync('/dev/shm') ? '/dev/shm/btrfs-lens-bench' : '/tmp/btrfs-lens-bench/scratch');
const ctx: BenchContext = { image, scratch, filter: process.argv[2] };
const sections = readdirSync(here).filter((f) => f.endsWith('.bench.js')).sort();
for (const file of sections) {
  if (ctx.filter && !file.includes(ctx.filter)) continue;
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { run(ctx: BenchContext): Promise<void> };
  process.stdout.write(`\n== ${file.replace(/\.bench\.js$/, '')} ==\n`);
  await mod.run(ctx);
}
