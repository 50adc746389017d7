// Typed, located errors. Everything that goes wrong because of image data surfaces as one of these,
// so the CLI can print one line and a library user can tell "the image is damaged" from "you asked
// for something that is not there" from "we do not support this".

/** Where in the filesystem a problem was found. Every field is optional; the message shows those set. */
export interface Location {
  tree?: bigint | number | string;
  block?: bigint;
  slot?: number;
  key?: string;
  logical?: bigint;
  physical?: bigint;
  devid?: bigint | number;
  device?: string;
  mirror?: number;
  path?: string;
  fileOffset?: bigint | number;
}

export function formatLocation(loc: Location): string {
  const parts: string[] = [];
  if (loc.device !== undefined) parts.push(`device=${loc.device}`);
  if (loc.devid !== undefined) parts.push(`devid=${loc.devid}`);
  if (loc.tree !== undefined) parts.push(`tree=${loc.tree}`);
  if (loc.block !== undefined) parts.push(`block=${loc.block}`);
  if (loc.slot !== undefined) parts.push(`slot=${loc.slot}`);
  if (loc.key !== undefined) parts.push(`key=${loc.key}`);
  if (loc.path !== undefined) parts.push(`path=${loc.path}`);
  if (loc.fileOffset !== undefined) parts.push(`file_offset=${loc.fileOffset}`);
  if (loc.logical !== undefined) parts.push(`logical=${loc.logical}`);
  if (loc.physical !== undefined) parts.push(`physical=${loc.physical}`);
  if (loc.mirror !== undefined) parts.push(`mirror=${loc.mirror}`);
  return parts.join(' ');
}

/** Base class: every error the library raises on purpose. */
export class BtrfsError extends Error {
  /** Node-style code, e.g. ENOENT, or one of ours (EBTRFSCORRUPT, ...). */
  readonly code: string;
  readonly location: Location;
  constructor(code: string, message: string, location: Location = {}) {
    const where = formatLocation(location);
    super(where ? `${message}: ${where}` : message);
    this.name = new.target.name;
    this.code = code;
    this.location = location;
  }
}

/** The image contradicts the format (bad magic, bad item bounds, impossible sizes, bad compression stream). */
export class CorruptError extends BtrfsError {
  constructor(message: string, location: Location = {}) {
    super('EBTRFSCORRUPT', message, location);
  }
}

/** A checksum did not match on every copy. Names both sums. */
export class ChecksumError extends BtrfsError {
  readonly expected: string;
  readonly actual: string;
  constructor(what: string, expected: string, actual: string, location: Location = {}) {
    super('EBTRFSCSUM', `${what} checksum mismatch, have ${actual} expect ${expected}`, location);
    this.expected = expected;
    this.actual = actual;
  }
}

/** A valid image that uses something we do not read (an unknown incompat feature, a new csum type). */
export class UnsupportedError extends BtrfsError {
  constructor(message: string, location: Location = {}) {
    super('EBTRFSUNSUPPORTED', `unsupported: ${message}`, location);
  }
}

/** Reading the image itself failed or came up short (truncated file, missing device). */
export class IoError extends BtrfsError {
  constructor(message: string, location: Location = {}) {
    super('EIO', message, location);
  }
}

/** A device of a multi-device filesystem is not among the files given or found. */
export class MissingDeviceError extends BtrfsError {
  constructor(message: string, location: Location = {}) {
    super('EBTRFSMISSINGDEV', message, location);
  }
}

/** Path-level errors carry Node's codes so callers can treat them like node:fs errors. */
export type PathErrorCode = 'ENOENT' | 'ENOTDIR' | 'EISDIR' | 'ELOOP' | 'EINVAL' | 'ENODATA' | 'ENAMETOOLONG';

export class PathError extends BtrfsError {
  readonly syscall: string;
  readonly path: string;
  /** The image the path was looked up in, when the message names it. */
  readonly image: string | undefined;
  constructor(code: PathErrorCode, syscall: string, path: string, image?: string) {
    const text: Record<string, string> = {
      ENOENT: 'no such file or directory',
      ENOTDIR: 'not a directory',
      EISDIR: 'is a directory',
      ELOOP: 'too many levels of symbolic links',
      EINVAL: 'invalid argument',
      ENODATA: 'no such attribute',
      ENAMETOOLONG: 'file name too long',
    };
    super(code, `${image === undefined ? '' : `${image}: `}${code}: ${text[code]}, ${syscall} '${path}'`);
    this.syscall = syscall;
    this.path = path;
    this.image = image;
  }

  /** The same error, its message naming the image (for the command line, where several may be open). */
  inImage(image: string): PathError {
    return new PathError(this.code as PathErrorCode, this.syscall, this.path, image);
  }
}

/** A caller error: bad argument values (not image data). */
export class UsageError extends BtrfsError {
  constructor(message: string) {
    super('EUSAGE', message);
  }
}

export function isBtrfsError(e: unknown): e is BtrfsError {
  return e instanceof BtrfsError;
}
