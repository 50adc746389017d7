// Reading through damage (--ignore-errors): a range that fails as a whole is read again page by page
// through the same read path, pages that still fail are zero-filled, and each run of failed pages is
// reported once with the error that stopped it. Nothing here verifies less: every byte returned
// passed the read path's checks, every zero that stands in for lost bytes is reported.

import { BtrfsError, UsageError } from '../errors.js';
import type { Btrfs } from './btrfs.js';
import type { FileRef } from './read-path.js';

export interface ReadProblem {
  path: string;
  /** File range [from, to) that was zero-filled. */
  from: bigint;
  to: bigint;
  error: BtrfsError;
}

export class Salvager {
  readonly problems: ReadProblem[] = [];
  private readonly S: bigint;

  constructor(private readonly fs: Btrfs, private readonly onProblem?: (p: ReadProblem) => void) {
    this.S = BigInt(fs.filesystem.sectorsize);
  }

  /** Up to `length` bytes at `position` (shorter only at end of file), unreadable pages zero-filled. */
  async read(file: FileRef, position: bigint, length: number): Promise<Buffer> {
    try {
      return await this.fs.readPath.read(file, position, length);
    } catch (e) {
      if (!(e instanceof BtrfsError)) throw e;
    }
    const end = position + BigInt(length) < file.size ? position + BigInt(length) : file.size;
    if (position >= end) return Buffer.alloc(0);
    const out = Buffer.alloc(Number(end - position));
    let run: ReadProblem | undefined;
    const close = () => {
      if (!run) return;
      this.problems.push(run);
      this.onProblem?.(run);
      run = undefined;
    };
    for (let page = (position / this.S) * this.S; page < end; page += this.S) {
      const from = page > position ? page : position;
      const to = page + this.S < end ? page + this.S : end;
      try {
        // One page exactly: a buffered read would pull in the readahead window, and with it the
        // damaged sector that failed the whole range.
        const bytes = await this.fs.readPath.readDirect(file, page, Number(this.S));
        if (!bytes) throw new UsageError('the read path keeps no page data');
        bytes.copy(out, Number(from - position), Number(from - page), Number(to - page));
        close();
      } catch (e) {
        if (!(e instanceof BtrfsError)) throw e;
        // One report per run of pages failing the same way (the first page's error stands for the run).
        if (run && run.to === from && run.error.code === e.code && run.error.constructor === e.constructor) run.to = to;
        else {
          close();
          run = { path: file.path, from, to, error: e };
        }
      }
    }
    close();
    return out;
  }
}

export function describeReadProblem(p: ReadProblem): string {
  return `${p.path}: bytes ${p.from}-${p.to - 1n} unreadable, zero-filled: ${p.error.message}`;
}

/**
 * The problems of one --ignore-errors command: each one line (path first) handed to `sink` as it
 * happens, counted for the exit status.
 */
export class DamageReport {
  count = 0;

  constructor(private readonly sink: (line: string) => void) {}

  /** A walk or lookup problem at `path`. */
  entry = (path: string, error: BtrfsError): void => {
    this.count++;
    this.sink(path && !error.message.includes(`path=${path}`) ? `${path}: ${error.message}` : error.message);
  };

  /** A zero-filled range of a file. */
  read = (p: ReadProblem): void => {
    this.count++;
    this.sink(describeReadProblem(p));
  };
}
