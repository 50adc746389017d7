// The byte source under everything: positional reads from a file, a buffer, a slice of either (a
// partition), never the whole image in memory. Short reads are errors that name the source.

import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { IoError } from '../errors.js';

export interface ImageSource {
  /** For messages: a path, or a description such as "buffer" or "disk.img partition 2". */
  readonly name: string;
  readonly size: number;
  /**
   * Exactly `length` bytes at `position`; an IoError if the source ends first. With `into` (at least
   * `length` bytes), the bytes land there and `into` is returned: no allocation per read.
   */
  read(position: number, length: number, into?: Buffer): Promise<Buffer>;
  close(): Promise<void>;
  /** What a container (qcow2, E01, ...) says about itself; undefined for a plain file. */
  readonly container?: ContainerInfo;
}

/** A container's own description, for `info`: its format, its files and what its headers say. */
export interface ContainerInfo {
  /** e.g. "qcow2 v3", "EWF (E01)", "VMDK streamOptimized", "VHD dynamic", "split raw". */
  format: string;
  /** Every file read, in order (segments, extents, backing files). */
  files: string[];
  /** Format-specific facts worth showing (acquisition metadata, snapshots, cluster size, ...). */
  details: Array<[string, string]>;
  /** The backing or parent image, if any. */
  parent?: ContainerInfo;
}

/** An IoError unless [position, position + length) lies inside the source. */
export function checkRange(source: ImageSource, position: number, length: number): void {
  if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0) {
    throw new IoError(`invalid read of ${length} bytes at ${position}`, { device: source.name });
  }
  if (position + length > source.size) {
    throw new IoError(`read of ${length} bytes at ${position} runs past the end (${source.size} bytes): image truncated?`, { device: source.name });
  }
}

/** Reads up to this size may be served from the window below. */
const SMALL_READ = 64 * 1024;
/** Bytes read at once for small reads that follow one another. */
const WINDOW = 256 * 1024;

export class FileSource implements ImageSource {
  /**
   * The last bytes read ahead for small reads. A reader of many small files asks for their data and
   * their tree blocks in ascending order a few KiB apart (nine reads in ten landed within 256 KiB
   * of the previous one): one read of 256 KiB serves dozens of them, each of which was a system call.
   */
  private window: Buffer | undefined;
  private windowStart = 0;
  private windowLength = 0;
  /** Where the previous read ended: small reads just after it are taken as a forward scan. */
  private lastEnd = -1;

  private constructor(readonly name: string, readonly size: number, private readonly handle: FileHandle) {}

  /** Opened O_RDONLY: nothing here can write to the image. `name` is what messages call it. */
  static async open(path: string, name = path): Promise<FileSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      throw new IoError(`cannot open image (${code})`, { device: name });
    }
    const st = await handle.stat();
    let size = st.size;
    if (st.isBlockDevice()) {
      // stat reports 0 for block devices; the end of the device is where reads stop.
      size = await blockDeviceSize(handle);
    } else if (!st.isFile()) {
      await handle.close();
      throw new IoError('not a regular file or block device', { device: name });
    }
    return new FileSource(name, size, handle);
  }

  async read(position: number, length: number, into?: Buffer): Promise<Buffer> {
    checkRange(this, position, length);
    const forward = position >= this.lastEnd && position < this.lastEnd + WINDOW;
    this.lastEnd = position + length;
    if (length <= SMALL_READ) {
      const inWindow = position >= this.windowStart && position + length <= this.windowStart + this.windowLength;
      let served = inWindow;
      if (!inWindow && forward) {
        this.window ??= Buffer.allocUnsafe(WINDOW);
        this.windowLength = 0; // a failed fill leaves no stale window behind
        const fill = Math.min(WINDOW, this.size - position);
        try {
          this.readFully(position, fill, this.window);
          this.windowStart = position;
          this.windowLength = fill;
          served = true;
        } catch {
          // A bad spot ahead of the bytes asked for (a damaged disk) must not fail this read: it is
          // retried alone below, and reports its own error if it has one.
        }
      }
      if (served) {
        const buf = into ?? Buffer.allocUnsafe(length);
        this.window!.copy(buf, 0, position - this.windowStart, position - this.windowStart + length);
        return buf;
      }
    }
    return this.readFully(position, length, into ?? Buffer.allocUnsafe(length));
  }

  private readFully(position: number, length: number, buf: Buffer): Buffer {
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        // A synchronous pread: image reads are local and mostly served from the page cache, where a
        // trip through libuv's thread pool costs ten times the copy itself (measured on tree walks).
        n = readSync(this.handle.fd, buf, done, length - done, position + done);
      } catch (e) {
        throw new IoError(`read error (${(e as NodeJS.ErrnoException).code ?? 'EIO'}) at ${position + done}`, { device: this.name });
      }
      if (n === 0) throw new IoError(`unexpected end of file at ${position + done}`, { device: this.name });
      done += n;
    }
    return buf;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

async function blockDeviceSize(handle: FileHandle): Promise<number> {
  // Binary search for the last readable byte: portable, needs no ioctl.
  let lo = 0;
  let hi = 2 ** 50;
  const one = Buffer.alloc(1);
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    const { bytesRead } = await handle.read(one, 0, 1, mid - 1).catch(() => ({ bytesRead: 0 }));
    if (bytesRead === 1) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export class BufferSource implements ImageSource {
  readonly size: number;
  constructor(private readonly buf: Buffer, readonly name = 'buffer') {
    this.size = buf.length;
  }
  async read(position: number, length: number, into?: Buffer): Promise<Buffer> {
    checkRange(this, position, length);
    if (into) {
      this.buf.copy(into, 0, position, position + length);
      return into;
    }
    return Buffer.from(this.buf.subarray(position, position + length));
  }
  async close(): Promise<void> {}
}

/** A window of another source: a partition inside a whole-disk image, or `--offset`. */
export class SliceSource implements ImageSource {
  constructor(private readonly base: ImageSource, private readonly start: number, readonly size: number, readonly name: string) {
    if (start < 0 || size < 0 || start + size > base.size) {
      throw new IoError(`slice of ${size} bytes at ${start} does not fit in ${base.size} bytes`, { device: base.name });
    }
  }
  get container(): ContainerInfo | undefined {
    return this.base.container;
  }
  async read(position: number, length: number, into?: Buffer): Promise<Buffer> {
    checkRange(this, position, length);
    return this.base.read(this.start + position, length, into);
  }
  async close(): Promise<void> {
    await this.base.close();
  }
}
