// A progress line on stderr, only when stderr is a terminal, redrawn at most ten times a second.

import { humanBytes } from './common.js';

export class Progress {
  private last = 0;
  private readonly enabled: boolean;
  constructor(private readonly label: string, private readonly totalBytes?: bigint) {
    this.enabled = process.stderr.isTTY === true;
  }

  update(files: number, bytes: bigint): void {
    this.show(() => {
      let line = `${files} files, ${humanBytes(bytes)}`;
      if (this.totalBytes && this.totalBytes > 0n) {
        const pct = Number((bytes * 1000n) / this.totalBytes) / 10;
        const width = 30;
        const filled = Math.min(width, Math.round((pct / 100) * width));
        line = `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${pct.toFixed(1)}% ${line}`;
      }
      return line;
    });
  }

  /** Redraw with what `text` says now; it is only called when a redraw is due. */
  show(text: () => string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    const line = `${this.label}: ${text()}`;
    // Cut to the terminal's width so it never wraps; a terminal that reports no size (0, as serial
    // consoles and some pseudo-terminals do) is taken as 80 columns.
    const columns = process.stderr.columns || 80;
    process.stderr.write(`\r${line.slice(0, columns - 1)}\x1b[K`);
  }

  done(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
}
