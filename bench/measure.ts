// Timing and peak memory of child processes for the bench, plus root-only helpers (drop caches,
// read-only loop mounts) for measuring the kernel as a peer.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');
const RSS_WRAPPER = join(dirname(fileURLToPath(import.meta.url)), 'rss-wrapper.js');

export interface Run {
  seconds: number;
  /** Peak resident set of the measured process, bytes (only for node processes we wrap). */
  peakRss?: number;
  code: number;
  stderr: string;
}

export const isRoot = process.getuid?.() === 0;

export function dropCaches(): void {
  if (!isRoot) return;
  spawnSync('sync');
  spawnSync('sh', ['-c', 'echo 3 > /proc/sys/vm/drop_caches']);
}

/** Run a shell command, timing it from spawn to exit. */
export function timeShell(command: string): Promise<Run> {
  return timeSpawn('sh', ['-c', command]);
}

/** Run the btrfs-lens CLI in a node process that reports its own peak RSS. */
export function timeLens(args: string[], stdoutTo = '/dev/null'): Promise<Run> {
  return timeSpawn('sh', ['-c', `exec "${process.execPath}" "${RSS_WRAPPER}" "${CLI}" ${args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ')} > ${stdoutTo} 3>&2`], true);
}

function timeSpawn(cmd: string, args: string[], rssOnStderr = false): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'pipe'] });
    const err: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      let stderr = Buffer.concat(err).toString();
      let peakRss: number | undefined;
      if (rssOnStderr) {
        const m = /BENCH_PEAK_RSS=(\d+)\n?/.exec(stderr);
        if (m) {
          peakRss = Number(m[1]) * 1024;
          stderr = stderr.replace(m[0], '');
        }
      }
      resolve({ seconds, code: code ?? -1, stderr, ...(peakRss !== undefined ? { peakRss } : {}) });
    });
  });
}

export function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true });
}

export function sh(command: string): string {
  const r = spawnSync('sh', ['-c', command], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command}: ${r.stderr}`);
  return r.stdout;
}

/** Attach `image` read-only and mount it read-only; returns the mountpoint and an unmount function. */
export function mountReadOnly(image: string, mountpoint: string): () => void {
  ensureDir(mountpoint);
  const loop = sh(`losetup -r -f --show '${image}'`).trim();
  sh(`mount -o ro '${loop}' '${mountpoint}'`);
  return () => {
    spawnSync('umount', [mountpoint]);
    spawnSync('losetup', ['-d', loop]);
  };
}

export function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a';
}

export function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}
