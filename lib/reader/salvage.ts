// Reading through damage (--ignore-errors): a range that fails as a whole is read again page by page
// through the same read path, pages that still fail are zero-filled, and each run of failed pages is
// reported once with the error that stopped it. Nothing here verifies less: every byte returned
// passed the read path's checks, every zero that stands in for lost bytes is reported.

import { BtrfsError } from '../errors.js';
import type { FileRef } from '../fs/file-ref.js';
import type { FileReader } from './file-reader.js';

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

  constructor(private readonly reader: FileReader, private readonly onProblem?: (p: ReadProblem) => void) {
    this.S = BigInt(reader.S);
  }

  /** Like FileReader.read(), with unreadable sectors zero-filled and reported instead of failing. */
  async read(file: FileRef, position: bigint, out: Buffer): Promise<number> {
    try {
      return await this.reader.read(file, position, out);
    } catch (e) {
      if (!(e instanceof BtrfsError)) throw e;
    }
    if (position >= file.size || out.length === 0) return 0;
    const end = position + BigInt(out.length) < file.size ? position + BigInt(out.length) : file.size;
    const sector = Buffer.allocUnsafe(Number(this.S));
    let run: ReadProblem | undefined;
    const close = () => {
      if (!run) return;
      this.problems.push(run);
      this.onProblem?.(run);
      run = undefined;
    };
    for (let at = (position / this.S) * this.S; at < end; at += this.S) {
      const from = at > position ? at : position;
      const to = at + this.S < end ? at + this.S : end;
      const dst = out.subarray(Number(from - position), Number(to - position));
      try {
        // One sector at a time, so a damaged sector fails only itself.
        const n = await this.reader.read(file, at, sector);
        sector.copy(dst, 0, Number(from - at), Math.min(n, Number(to - at)));
        close();
      } catch (e) {
        if (!(e instanceof BtrfsError)) throw e;
        dst.fill(0);
        // One report per run of sectors failing the same way (the first one's error stands for the run).
        if (run && run.to === from && run.error.code === e.code && run.error.constructor === e.constructor) run.to = to;
        else {
          close();
          run = { path: file.path, from, to, error: e };
        }
      }
    }
    close();
    return Number(end - position);
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
