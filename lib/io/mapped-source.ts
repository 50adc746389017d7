// The shape every block-mapped container shares: the virtual disk is cut into runs, each of which is
// zeros, bytes stored at an offset of some file, bytes of a decoded unit (an inflated cluster or
// chunk), or "whatever the parent image has here". A container only says where a run comes from
// (locate); reading, joining neighbouring file runs into one read, and the parent's end are here.

import { IoError } from '../errors.js';
import { checkRange, type ContainerInfo, type ImageSource } from './source.js';

export type Run =
  | { kind: 'zero'; length: number }
  | { kind: 'file'; length: number; source: ImageSource; offset: number }
  | { kind: 'bytes'; length: number; data: Uint8Array; offset: number }
  | { kind: 'parent'; length: number };

interface Pending {
  source: ImageSource;
  offset: number;
  at: number;
  length: number;
}

export abstract class MappedSource implements ImageSource {
  abstract readonly name: string;
  abstract readonly size: number;
  abstract readonly container: ContainerInfo;

  /**
   * @param files every source this container opened (closed with it)
   * @param parent the backing or parent image, read where a run says so (zeros past its end)
   */
  constructor(protected readonly files: ImageSource[], protected readonly parent?: ImageSource) {}

  /** The run starting at `position`: at least 1 and at most `max` bytes, all of one kind. */
  protected abstract locate(position: number, max: number): Promise<Run>;

  async read(position: number, length: number, into?: Buffer): Promise<Buffer> {
    checkRange(this, position, length);
    const out = into ?? Buffer.allocUnsafe(length);
    let pending: Pending | undefined;
    let parentRun: { position: number; at: number; length: number } | undefined;
    const flush = async () => {
      if (pending) {
        const p = pending;
        pending = undefined;
        await p.source.read(p.offset, p.length, out.subarray(p.at, p.at + p.length));
      }
      if (parentRun) {
        const r = parentRun;
        parentRun = undefined;
        await this.readParent(r.position, r.length, out.subarray(r.at, r.at + r.length));
      }
    };
    let done = 0;
    while (done < length) {
      const run = await this.locate(position + done, length - done);
      const n = run.length;
      if (!Number.isSafeInteger(n) || n < 1 || n > length - done) {
        throw new IoError(`internal: run of ${n} bytes at ${position + done}`, { device: this.name });
      }
      if (run.kind === 'file') {
        if (pending && pending.source === run.source && pending.offset + pending.length === run.offset && pending.at + pending.length === done) {
          pending.length += n;
        } else {
          await flush();
          pending = { source: run.source, offset: run.offset, at: done, length: n };
        }
      } else if (run.kind === 'parent') {
        if (parentRun && parentRun.at + parentRun.length === done) parentRun.length += n;
        else {
          await flush();
          parentRun = { position: position + done, at: done, length: n };
        }
      } else if (run.kind === 'zero') {
        out.fill(0, done, done + n);
      } else {
        out.set(run.data.subarray(run.offset, run.offset + n), done);
      }
      done += n;
    }
    await flush();
    return out;
  }

  /** The parent's bytes; zeros where there is no parent or it is smaller than this image. */
  private async readParent(position: number, length: number, into: Buffer): Promise<void> {
    const have = this.parent ? Math.max(0, Math.min(length, this.parent.size - position)) : 0;
    if (have > 0) await this.parent!.read(position, have, into.subarray(0, have));
    into.fill(0, have, length);
  }

  async close(): Promise<void> {
    await Promise.all([...this.files, ...(this.parent ? [this.parent] : [])].map((f) => f.close().catch(() => undefined)));
  }
}
