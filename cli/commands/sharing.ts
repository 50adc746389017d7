import { writeFile } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import { renderHeatmap, subvolumeLabel } from '../../lib/usage/heatmap.js';
import { sharing, type SharingReport } from '../../lib/usage/sharing.js';
import { IoError } from '../../lib/errors.js';
import { BackrefContext } from '../../lib/backref/context.js';
import { imageOptions, toJsonStrings, withImage, writeOut, type ImageArgs } from '../common.js';
import { Progress } from '../progress.js';
import { warnProblems } from './logical-resolve.js';

export interface SharingArgs extends ImageArgs {
  svg?: string;
}

function text(r: SharingReport): string {
  const lines: string[] = [];
  lines.push('Bytes referenced by files of both subvolumes (logical address space; diagonal: referenced by the subvolume):');
  const labels = r.subvolumes.map(subvolumeLabel);
  const w = Math.max(...r.matrix.flat().map((v) => String(v).length), ...r.subvolumes.map((s) => String(s.id).length), 6);
  const lw = Math.max(...labels.map((l) => l.length));
  lines.push(`${''.padEnd(lw)}  ${r.subvolumes.map((s) => String(s.id).padStart(w)).join(' ')}`);
  r.matrix.forEach((row, i) => lines.push(`${labels[i]!.padEnd(lw)}  ${row.map((v) => String(v).padStart(w)).join(' ')}`));
  lines.push('');
  lines.push(`Data extents by number of referencing file ranges (${r.dataExtents} extents):`);
  lines.push(`${'references'.padStart(10)}  ${'extents'.padStart(8)}  ${'bytes'.padStart(12)}`);
  for (const h of r.histogram) lines.push(`${String(h.references).padStart(10)}  ${String(h.extents).padStart(8)}  ${String(h.bytes).padStart(12)}`);
  lines.push('');
  const m = r.memory;
  lines.push(`Memory to cache every page of every file (${m.files} files, ${r.sectorsize}-byte pages):`);
  lines.push(`  per-inode policy: ${m.perInodePages} pages, ${m.perInodeBytes} bytes`);
  const saved = m.perInodePages === 0n ? 0 : Number(((m.perInodePages - m.logicalPages) * 10000n) / m.perInodePages) / 100;
  lines.push(`  logical policy:   ${m.logicalPages} pages, ${m.logicalBytes} bytes (${saved}% less)`);
  return lines.join('\n') + '\n';
}

export const sharingCommand: CommandModule<object, SharingArgs> = {
  command: 'sharing <image>',
  describe: 'bytes each pair of subvolumes shares, extents by reference count, page cache memory per-inode vs logical',
  builder: (y) => imageOptions(y).option('svg', { type: 'string', describe: 'also draw the pair matrix as an SVG heat map into FILE' }) as never,
  handler: (argv) =>
    withImage(argv, async (fs) => {
      const context = await BackrefContext.create(fs.filesystem);
      const progress = new Progress('sharing');
      const r = await sharing(fs, {
        context,
        onProgress: (p) => progress.show(() => `${p.dataExtents} data extents, ${p.files} files`),
      }).finally(() => progress.done());
      if (argv.svg) {
        try {
          await writeFile(argv.svg, renderHeatmap(r));
        } catch (e) {
          throw new IoError(`cannot write ${argv.svg}: ${(e as Error).message}`);
        }
      }
      if (argv.json) {
        const json = {
          sectorsize: r.sectorsize,
          subvolumes: r.subvolumes,
          matrix: r.matrix,
          data_extents: r.dataExtents,
          histogram: r.histogram,
          memory: {
            files: r.memory.files, per_inode_pages: r.memory.perInodePages, logical_pages: r.memory.logicalPages,
            per_inode_bytes: r.memory.perInodeBytes, logical_bytes: r.memory.logicalBytes,
          },
        };
        await writeOut(toJsonStrings(json, 2) + '\n');
      } else await writeOut(text(r));
      warnProblems(context);
    }),
};
