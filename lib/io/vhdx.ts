import { UnsupportedError } from '../errors.js';
import type { ImageSource } from './source.js';
export const VHDX_SIGNATURE = Buffer.from('vhdxfile', 'latin1');
export class VhdxSource { static async open(_f: ImageSource, _b: unknown): Promise<ImageSource> { throw new UnsupportedError('vhdx'); } }
