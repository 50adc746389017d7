import type { CommandModule } from 'yargs';
import { extentMap } from '../../lib/fs/extent-map.js';
import { imageOptions, toJson, withImage, writeOut, type ImageArgs } from '../common.js';

export interface MapArgs extends ImageArgs {
  path: string;
}

export const mapCommand: CommandModule<object, MapArgs> = {
  command: 'map <image> <path>',
  describe: 'file offset -> logical address -> physical copies on every device, per file extent',
  builder: (y) => imageOptions(y).positional('path', { type: 'string', demandOption: true, describe: 'file inside the filesystem' }) as never,
  handler: (argv) =>
    withImage(argv, async (fs) => {
      const { size, extents } = await extentMap(fs, argv.path);
      if (argv.json) {
        const rows = extents.map((x) => ({
          file_offset: x.fileOffset, length: x.length, kind: x.kind, compression: x.compression, logical: x.logical,
          disk_length: x.diskLength, extent_offset: x.extentOffset, ram_bytes: x.ramBytes, refs: x.refs, shared: x.shared, beyond_eof: x.beyondEof,
          copies: x.copies.map((runs, mirror) => ({ mirror, runs: runs.map((r) => ({ devid: r.devid, device: r.device, physical: r.physical, length: r.length })) })),
        }));
        return writeOut(toJson({ path: argv.path, size, extents: rows }, 2) + '\n');
      }
      const lines = [`${argv.path}: ${size} bytes, ${extents.length} extent(s)`];
      for (const x of extents) {
        let s = `  ${String(x.fileOffset).padStart(12)} +${String(x.length).padEnd(10)} ${x.kind.padEnd(8)}`;
        if (x.kind === 'inline') s += ` ${x.compression} ${x.diskLength} bytes in the tree`;
        if (x.logical !== null) {
          s += ` ${x.compression.padEnd(5)} logical ${x.logical} disk ${x.diskLength} offset ${x.extentOffset}${x.shared ? ` shared(refs ${x.refs})` : ''}`;
        }
        if (x.beyondEof) s += ' (beyond EOF)';
        lines.push(s);
        x.copies.forEach((runs, mirror) => {
          const shown = runs.slice(0, 8).map((r) => `devid ${r.devid} @${r.physical}+${r.length}`).join(', ');
          lines.push(`      copy ${mirror}: ${shown}${runs.length > 8 ? `, ... (${runs.length} runs)` : ''}`);
        });
      }
      return writeOut(lines.join('\n') + '\n');
    }),
};
