// Files created by an extraction whose shared data comes later (see data-plan.ts): where they are,
// what metadata they get once written, and how many planned pieces they still wait for. Columns of
// numbers and one byte arena for the paths, so millions of files cost tens of bytes each.

import type { InodeFacts } from '../fs/stats.js';

/** What a file gets when its data is written: the inode's owner, mode, times and size. */
export interface FileMeta {
  uid: number;
  gid: number;
  mode: number;
  atimeNs: bigint;
  mtimeNs: bigint;
  size: bigint;
}

export function metaOf(f: InodeFacts): FileMeta {
  return { uid: f.uid, gid: f.gid, mode: f.mode, atimeNs: f.atimeNs, mtimeNs: f.mtimeNs, size: f.size };
}

export class PendingFiles {
  private n = 0;
  private arena = Buffer.allocUnsafe(64 * 1024);
  private used = 0;
  private pathAt = new Float64Array(1024);
  private pathLen = new Uint32Array(1024);
  private ids = new BigUint64Array(2048);
  private owner = new Uint32Array(2048);
  private mode = new Uint32Array(1024);
  private times = new BigInt64Array(2048);
  private sizes = new BigUint64Array(1024);
  /** Planned pieces not yet written, per file (0: done). */
  private left = new Uint32Array(1024);
  /** What finishing the file must do besides its times (the extraction's FINISH_ flags). */
  private finish = new Uint8Array(1024);

  get size(): number {
    return this.n;
  }

  add(path: Buffer, meta: FileMeta, subvol: bigint, ino: bigint, pieces: number, needs: number): number {
    const i = this.n++;
    if (i >= this.mode.length) this.grow();
    if (this.used + path.length > this.arena.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.used + path.length));
      this.arena.copy(bigger, 0, 0, this.used);
      this.arena = bigger;
    }
    path.copy(this.arena, this.used);
    this.pathAt[i] = this.used;
    this.pathLen[i] = path.length;
    this.used += path.length;
    this.ids[2 * i] = subvol;
    this.ids[2 * i + 1] = ino;
    this.owner[2 * i] = meta.uid;
    this.owner[2 * i + 1] = meta.gid;
    this.mode[i] = meta.mode;
    this.times[2 * i] = meta.atimeNs;
    this.times[2 * i + 1] = meta.mtimeNs;
    this.sizes[i] = meta.size;
    this.left[i] = pieces;
    this.finish[i] = needs;
    return i;
  }

  /** The file's destination path (a copy: the arena moves as it grows). */
  path(i: number): Buffer {
    const at = this.pathAt[i]!;
    return Buffer.from(this.arena.subarray(at, at + this.pathLen[i]!));
  }

  meta(i: number): FileMeta {
    return {
      uid: this.owner[2 * i]!, gid: this.owner[2 * i + 1]!, mode: this.mode[i]!,
      atimeNs: this.times[2 * i]!, mtimeNs: this.times[2 * i + 1]!, size: this.sizes[i]!,
    };
  }

  needs(i: number): number {
    return this.finish[i]!;
  }

  addNeeds(i: number, needs: number): void {
    this.finish[i]! |= needs;
  }

  node(i: number): { subvol: bigint; ino: bigint } {
    return { subvol: this.ids[2 * i]!, ino: this.ids[2 * i + 1]! };
  }

  /** One planned piece written; true when it was the file's last. */
  written(i: number): boolean {
    return --this.left[i]! === 0;
  }

  /** Still waiting for data (for cleanup when an extraction stops early). */
  pending(i: number): boolean {
    return this.left[i]! > 0;
  }

  private grow(): void {
    const k = this.mode.length * 2;
    const grow = <T extends { length: number; set(a: T): void }>(a: T, make: (n: number) => T, per: number): T => {
      const b = make(k * per);
      b.set(a);
      return b;
    };
    this.pathAt = grow(this.pathAt, (n) => new Float64Array(n), 1);
    this.pathLen = grow(this.pathLen, (n) => new Uint32Array(n), 1);
    this.ids = grow(this.ids, (n) => new BigUint64Array(n), 2);
    this.owner = grow(this.owner, (n) => new Uint32Array(n), 2);
    this.mode = grow(this.mode, (n) => new Uint32Array(n), 1);
    this.times = grow(this.times, (n) => new BigInt64Array(n), 2);
    this.sizes = grow(this.sizes, (n) => new BigUint64Array(n), 1);
    this.left = grow(this.left, (n) => new Uint32Array(n), 1);
    this.finish = grow(this.finish, (n) => new Uint8Array(n), 1);
  }
}
