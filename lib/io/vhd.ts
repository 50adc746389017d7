import { UnsupportedError } from '../errors.js';
import type { ImageSource } from './source.js';
export const VHD_COOKIE = Buffer.from('conectix', 'latin1');
export class VhdSource { static async open(_f: ImageSource, _b: unknown): Promise<ImageSource> { throw new UnsupportedError('vhd'); } }
