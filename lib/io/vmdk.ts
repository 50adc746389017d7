// VMDK images: a descriptor (a text file, or embedded in a monolithic sparse file) lists extents,
// each FLAT (raw bytes of a file from an offset), SPARSE (a hosted sparse extent, vmdk-sparse.ts) or
// ZERO; the disk is the extents one after another.

import { dirname, resolve } from 'node:path';
import { CorruptError, UnsupportedError } from '../errors.js';
import { ConcatSource } from './concat-source.js';
import { MappedSource, type Run } from './mapped-source.js';
import { FileSource, SliceSource, type ContainerInfo, type ImageSource } from './source.js';
import { MAX_DESCRIPTOR, parseDescriptor, type VmdkDescriptor } from './vmdk-descriptor.js';
import { SparseExtent, sparseHeader, VMDK_SPARSE_MAGIC } from './vmdk-sparse.js';

export { VMDK_SPARSE_MAGIC } from './vmdk-sparse.js';
export const VMDK_DESCRIPTOR = '# Disk DescriptorFile';

class ZeroExtent extends MappedSource {
  readonly container: ContainerInfo = { format: 'zero', files: [], details: [] };
  constructor(readonly name: string, readonly size: number) {
    super([]);
  }
  protected async locate(_position: number, max: number): Promise<Run> {
    return { kind: 'zero', length: max };
  }
}

function refuseParent(d: VmdkDescriptor, device: string): void {
  if (d.parentCID !== 'ffffffff') throw new UnsupportedError(`VMDK with a parent (parentCID ${d.parentCID}): snapshot deltas are not read`, { device });
}

export async function openVmdk(file: ImageSource, path: string, isDescriptor: boolean): Promise<ImageSource> {
  if (!isDescriptor) {
    // A monolithic sparse (or streamOptimized) file: its embedded descriptor names no other file.
    const h = sparseHeader.decode(await file.read(0, 512));
    const info: ContainerInfo = { format: 'VMDK sparse', files: [file.name], details: [] };
    const at = Number(h.descriptor_offset) * 512;
    const size = Number(h.descriptor_size) * 512;
    if (h.magic === VMDK_SPARSE_MAGIC && h.descriptor_offset > 0n && size > 0 && size <= MAX_DESCRIPTOR && at + size <= file.size) {
      const d = parseDescriptor((await file.read(at, size)).toString('latin1'), file.name);
      refuseParent(d, file.name);
      if (d.createType) info.format = `VMDK ${d.createType}`;
    }
    return SparseExtent.open(file, undefined, info);
  }
  if (file.size > MAX_DESCRIPTOR) throw new CorruptError(`VMDK descriptor of ${file.size} bytes (at most ${MAX_DESCRIPTOR})`, { device: file.name });
  const d = parseDescriptor((await file.read(0, file.size)).toString('latin1'), file.name);
  refuseParent(d, file.name);
  if (!d.extents.length) throw new CorruptError('VMDK descriptor lists no extent', { device: file.name });
  const info: ContainerInfo = { format: `VMDK ${d.createType || 'descriptor'}`, files: [file.name], details: [['extents', `${d.extents.length}`]] };
  const opened: ImageSource[] = [];
  const pieces: ImageSource[] = [];
  try {
    for (const e of d.extents) {
      const bytes = e.sectors * 512;
      if (e.type === 'ZERO' || e.access === 'NOACCESS') {
        pieces.push(new ZeroExtent(`${path} zero extent`, bytes));
        continue;
      }
      if (!e.file) throw new CorruptError(`VMDK ${e.type} extent without a file name`, { device: file.name });
      const extentPath = resolve(dirname(path), e.file);
      const f = await FileSource.open(extentPath);
      opened.push(f);
      info.files.push(f.name);
      if (e.type === 'FLAT' || e.type === 'VMFS') {
        if (e.offset * 512 + bytes > f.size) throw new CorruptError(`VMDK flat extent "${e.file}" (${bytes} bytes from sector ${e.offset}) is longer than its file (${f.size} bytes)`, { device: file.name });
        pieces.push(new SliceSource(f, e.offset * 512, bytes, f.name));
      } else if (e.type === 'SPARSE') {
        const head = await f.read(0, Math.min(512, f.size));
        if (head.length < 512 || head.readUInt32LE(0) !== VMDK_SPARSE_MAGIC) throw new CorruptError(`VMDK sparse extent "${e.file}" has no KDMV header`, { device: f.name });
        pieces.push(await SparseExtent.open(f, bytes, info));
      } else {
        throw new UnsupportedError(`VMDK extent type ${e.type}`, { device: file.name });
      }
    }
  } catch (e) {
    await Promise.all(opened.map((f) => f.close()));
    throw e;
  }
  // The extents' own files are closed through the pieces; the descriptor file with the whole.
  return new ConcatSource(file.name, pieces, info, [file, ...pieces]);
}
