// A progress line on stderr, only when stderr is a terminal, redrawn at most ten times a second.

import { humanBytes } from './common.js';

export class Progress {
  private last = 0;
  private readonly enabled: boolean;
  constructor(private readonly label: string, private readonly totalBytes?: bigint) {
    this.enabled = process.stderr.isTTY === true;
  }

  update(files: number, bytes: bigint): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    let line = `${this.label}: ${files} files, ${humanBytes(bytes)}`;
    if (this.totalBytes && this.totalBytes > 0n) {
      const pct = Number((bytes * 1000n) / this.totalBytes) / 10;
      const width = 30;
      const filled = Math.min(width, Math.round((pct / 100) * width));
      line = `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${pct.toFixed(1)}% ${line}`;
    }
    process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 80) - 1)}\x1b[K`);
  }

  done(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
}
