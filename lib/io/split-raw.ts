// Split raw images: `split -b` or an imager wrote the disk as name.001, name.002, ... (or name.aa,
// name.ab, ...). Raw pieces carry no signature, so the first piece's name and the presence of the
// second are what make a split image; the sizes of the files say where each piece sits.

import { stat } from 'node:fs/promises';
import { ConcatSource } from './concat-source.js';
import { FileSource, type ImageSource } from './source.js';

/** More pieces than any imager writes (999 numbered pieces, 676 two-letter ones, ...). */
const MAX_PIECES = 100_000;

/** The name of the piece after `name`, or undefined when `name` does not end in a piece suffix. */
export function nextPieceName(name: string): string | undefined {
  const num = /^(.*\.)(\d{2,})$/.exec(name);
  if (num) {
    const width = num[2]!.length;
    const next = String(Number(num[2]) + 1);
    return next.length > width ? undefined : num[1]! + next.padStart(width, '0');
  }
  const alpha = /^(.*\.)([a-z]{2,})$/.exec(name);
  if (alpha) {
    const letters = alpha[2]!.split('').map((c) => c.charCodeAt(0) - 97);
    let i = letters.length - 1;
    while (i >= 0 && letters[i] === 25) letters[i--] = 0;
    if (i < 0) return undefined;
    letters[i]!++;
    return alpha[1]! + String.fromCharCode(...letters.map((l) => l + 97));
  }
  return undefined;
}

/** Is `name` the first piece of a split image (.000, .001, .aa)? */
function isFirstPiece(name: string): boolean {
  return /\.(0+|0*1)$/.test(name) && /\.\d{2,}$/.test(name) || /\.a{2,}$/.test(name);
}

/** The pieces of the split image starting at `path`, or undefined when there is no second piece. */
export async function splitRawPieces(path: string): Promise<string[] | undefined> {
  if (!isFirstPiece(path)) return undefined;
  const pieces = [path];
  for (let next = nextPieceName(path); next !== undefined && pieces.length < MAX_PIECES; next = nextPieceName(next)) {
    const st = await stat(next).catch(() => undefined);
    if (!st?.isFile()) break;
    pieces.push(next);
  }
  return pieces.length > 1 ? pieces : undefined;
}

export async function openSplitRaw(first: ImageSource, pieces: string[]): Promise<ImageSource> {
  const sources: ImageSource[] = [first];
  try {
    for (const p of pieces.slice(1)) sources.push(await FileSource.open(p));
  } catch (e) {
    // The first piece is the caller's to close.
    await Promise.all(sources.slice(1).map((s) => s.close()));
    throw e;
  }
  return new ConcatSource(first.name, sources, { format: `split raw (${pieces.length} pieces)`, files: pieces, details: sources.map((s) => [s.name, `${s.size} bytes`]) });
}
