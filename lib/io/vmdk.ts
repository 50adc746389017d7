import { UnsupportedError } from '../errors.js';
import type { ImageSource } from './source.js';
export const VMDK_SPARSE_MAGIC = 0x564d444b;
export const VMDK_DESCRIPTOR = '# Disk DescriptorFile';
export async function openVmdk(_f: ImageSource, _p: string, _d: boolean): Promise<ImageSource> { throw new UnsupportedError('vmdk'); }
