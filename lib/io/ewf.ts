import { UnsupportedError } from '../errors.js';
import type { ImageSource } from './source.js';
export const EWF_SIGNATURE = Buffer.from([0x45, 0x56, 0x46, 0x09, 0x0d, 0x0a, 0xff, 0x00]);
export class EwfSource { static async open(_f: ImageSource, _p: string): Promise<ImageSource> { throw new UnsupportedError('ewf'); } }
