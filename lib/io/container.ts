// Opening an image file whatever holds it: a raw file (or a gzip-compressed one), split raw pieces,
// or a container (qcow2, EWF, VMDK, VHD, VHDX), told apart by their signatures. Containers that
// refer to other files (backing files, parents, segments, extents) find them beside the image.

import { realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { IoError, UsageError } from '../errors.js';
import { EwfSource, EWF_SIGNATURE } from './ewf.js';
import { gunzipToCache, isGzipPath } from './gzip-cache.js';
import { QCOW2_MAGIC } from './qcow2-header.js';
import { Qcow2Source } from './qcow2.js';
import { FileSource, type ImageSource } from './source.js';
import { openSplitRaw, splitRawPieces } from './split-raw.js';
import { VhdSource, VHD_COOKIE } from './vhd.js';
import { VhdxSource, VHDX_SIGNATURE } from './vhdx.js';
import { openVmdk, VMDK_DESCRIPTOR, VMDK_SPARSE_MAGIC } from './vmdk.js';

export interface ContainerOptions {
  /** The backing (qcow2) or parent (VHD, VHDX) image of the image opened, instead of the one it names. */
  backing?: string;
  /** qcow2: read this internal snapshot (id or name). */
  qcowSnapshot?: string;
}

/** Backing chains longer than this are taken as a loop (qemu itself stops far earlier in practice). */
const MAX_CHAIN = 64;

export type ContainerFormat = 'raw' | 'qcow2' | 'ewf' | 'vmdk' | 'vmdk-descriptor' | 'vhd' | 'vhdx';

/** The format of a file from its first bytes and its last 512 (a fixed VHD has only a footer). */
export function detectFormat(head: Buffer, tail: Buffer): ContainerFormat {
  if (head.subarray(0, 4).equals(QCOW2_MAGIC)) return 'qcow2';
  if (head.subarray(0, 8).equals(EWF_SIGNATURE)) return 'ewf';
  if (head.subarray(0, 8).equals(VHDX_SIGNATURE)) return 'vhdx';
  if (head.length >= 4 && head.readUInt32LE(0) === VMDK_SPARSE_MAGIC) return 'vmdk';
  if (head.subarray(0, VMDK_DESCRIPTOR.length).toString('latin1') === VMDK_DESCRIPTOR) return 'vmdk-descriptor';
  if (head.subarray(0, 8).equals(VHD_COOKIE) || (tail.length === 512 && tail.subarray(0, 8).equals(VHD_COOKIE))) return 'vhd';
  return 'raw';
}

/**
 * The bytes of the disk in `path`: the file itself when it is raw, else its container read through.
 * `name` is what messages call it.
 */
export async function openImageFile(path: string, options: ContainerOptions = {}): Promise<ImageSource> {
  return openChained(path, options, new Set(), undefined);
}

async function openChained(path: string, options: ContainerOptions, seen: Set<string>, formatHint: string | undefined): Promise<ImageSource> {
  if (seen.size >= MAX_CHAIN) throw new IoError(`backing chain longer than ${MAX_CHAIN} images (a loop?)`, { device: path });
  const real = await realpath(path).catch(() => resolve(path));
  if (seen.has(real)) throw new IoError('backing chain loops back to this image', { device: path });
  seen.add(real);
  const file = await FileSource.open(isGzipPath(path) ? await gunzipToCache(path) : path, path);
  try {
    if (file.size === 0) return file;
    const head = await file.read(0, Math.min(file.size, 512));
    const tail = file.size >= 1024 ? await file.read(file.size - 512, 512) : Buffer.alloc(0);
    const format = formatHint === 'raw' ? 'raw' : detectFormat(head, tail);
    // The backing or parent of this image: --backing for the image opened, the named file beside
    // it otherwise; its own backing is then looked for beside it.
    const backing = async (name: string, hint: string | undefined): Promise<ImageSource> => {
      const given = seen.size === 1 ? options.backing : undefined;
      const where = given ?? resolve(dirname(path), name);
      try {
        return await openChained(where, { ...options, qcowSnapshot: undefined, backing: undefined }, seen, hint);
      } catch (e) {
        if (e instanceof IoError && /cannot open image \(ENOENT\)/.test(e.message) && e.location.device === where) {
          throw new IoError(`${given ? 'backing file given with --backing' : `backing file "${name}"`} not found at ${where}${given ? '' : '; give it with --backing FILE'}`, { device: path });
        }
        throw e;
      }
    };
    if (options.qcowSnapshot !== undefined && format !== 'qcow2') throw new UsageError(`--qcow-snapshot: ${path} is not a qcow2 image`);
    switch (format) {
      case 'qcow2':
        return await Qcow2Source.open(file, options.qcowSnapshot !== undefined ? { snapshot: options.qcowSnapshot } : {}, backing);
      case 'ewf':
        return await EwfSource.open(file, path);
      case 'vmdk':
      case 'vmdk-descriptor':
        return await openVmdk(file, path, format === 'vmdk-descriptor');
      case 'vhd':
        return await VhdSource.open(file, backing);
      case 'vhdx':
        return await VhdxSource.open(file, backing);
      default: {
        if (options.backing !== undefined && seen.size === 1) throw new UsageError(`--backing: ${path} has no backing file (it is a raw image)`);
        const pieces = isGzipPath(path) ? undefined : await splitRawPieces(path);
        return pieces ? await openSplitRaw(file, pieces) : file;
      }
    }
  } catch (e) {
    await file.close();
    throw e;
  }
}
