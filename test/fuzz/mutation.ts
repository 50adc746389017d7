// A mutation is data: byte patches against a fixture's device files, optional truncations and
// removed members. That is what a regression case stores (a few bytes, not an image), and applying it
// to a private sparse copy of the fixture and undoing it afterwards costs a few writes.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readSync, renameSync, rmSync, writeSync, ftruncateSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface Patch {
  /** Index of the device file, in devid order (as fixtureImages lists them). */
  device: number;
  offset: number;
  /** New bytes, hex. */
  hex: string;
}

export interface Mutation {
  fixture: string;
  mutator: string;
  description: string;
  patches: Patch[];
  /** Device files cut short to `size` bytes. */
  truncate?: Array<{ device: number; size: number }>;
  /** Device files taken away (a missing member). */
  remove?: number[];
}

/** A byte diff of `after` against `before` at `offset`, as few patches as the changed runs. */
export function diffPatches(device: number, offset: number, before: Buffer, after: Buffer): Patch[] {
  const out: Patch[] = [];
  let i = 0;
  while (i < after.length) {
    if (before[i] === after[i]) {
      i++;
      continue;
    }
    let j = i;
    // Runs separated by fewer than 8 equal bytes are merged: fewer, slightly longer patches.
    while (j < after.length && (before[j] !== after[j] || sameFor(before, after, j, 8) < 8)) j++;
    out.push({ device, offset: offset + i, hex: after.subarray(i, j).toString('hex') });
    i = j;
  }
  return out;
}

function sameFor(a: Buffer, b: Buffer, from: number, max: number): number {
  let n = 0;
  while (n < max && from + n < b.length && a[from + n] === b[from + n]) n++;
  return from + n >= b.length ? max : n;
}

/**
 * Private sparse copies of a fixture's device files in `root`, patched in place for one mutant and
 * restored afterwards. A copy that a mutant cut or removed is copied again from the clean image.
 */
export class Workspace {
  private readonly dirty = new Set<string>();

  constructor(readonly root: string, private readonly images: (fixture: string) => Promise<string[]>) {
    mkdirSync(root, { recursive: true });
  }

  private dir(fixture: string): string {
    return join(this.root, fixture);
  }

  /** Paths of the (clean) copies, creating them on first use. */
  async copies(fixture: string): Promise<string[]> {
    const clean = await this.images(fixture);
    const dir = this.dir(fixture);
    mkdirSync(dir, { recursive: true });
    return clean.map((src) => {
      const dest = join(dir, basename(src));
      if (!existsSync(dest) || this.dirty.has(dest)) {
        rmSync(dest, { force: true });
        execFileSync('cp', ['--sparse=always', src, dest]);
        this.dirty.delete(dest);
      }
      return dest;
    });
  }

  /** Apply `m`; returns the device paths to open (removed ones left out) and an undo function. */
  async apply(m: Mutation): Promise<{ paths: string[]; undo: () => void }> {
    const paths = await this.copies(m.fixture);
    const undo: Array<() => void> = [];
    for (const p of m.patches) {
      const path = paths[p.device];
      if (!path) continue;
      const bytes = Buffer.from(p.hex, 'hex');
      const fd = openSync(path, 'r+');
      try {
        const before = Buffer.alloc(bytes.length);
        const n = readSync(fd, before, 0, bytes.length, p.offset);
        if (n < bytes.length) this.dirty.add(path); // the patch extends the file: copy again later
        writeSync(fd, bytes, 0, bytes.length, p.offset);
        undo.push(() => {
          const u = openSync(path, 'r+');
          try {
            writeSync(u, before, 0, n, p.offset);
          } finally {
            closeSync(u);
          }
        });
      } finally {
        closeSync(fd);
      }
    }
    for (const t of m.truncate ?? []) {
      const path = paths[t.device];
      if (!path) continue;
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, t.size);
      } finally {
        closeSync(fd);
      }
      this.dirty.add(path);
    }
    const removed = new Set(m.remove ?? []);
    for (const i of removed) {
      const path = paths[i];
      if (!path) continue;
      renameSync(path, `${path}.removed`);
      undo.push(() => renameSync(`${path}.removed`, path));
    }
    return {
      paths: paths.filter((_, i) => !removed.has(i)),
      undo: () => {
        for (const u of undo.reverse()) u();
      },
    };
  }

  close(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
