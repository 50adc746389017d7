import type { CommandModule } from 'yargs';
import { verifyImage } from '../../lib/io/verify-image.js';
import { EXIT, humanBytes, toJson, writeOut } from '../common.js';
import { Progress } from '../progress.js';

interface VerifyArgs {
  image: string;
  json?: boolean;
}

export const verifyImageCommand: CommandModule<object, VerifyArgs> = {
  command: 'verify-image <image>',
  describe: 'hash the whole media of an E01 image against the MD5/SHA1 stored at acquisition, naming damaged chunks (exit 1 on a mismatch)',
  builder: (y) => y.positional('image', { type: 'string', demandOption: true, describe: 'first segment file of an EWF image (name.E01; the others are found beside it)' }) as never,
  handler: async (argv) => {
    const progress = new Progress('verify-image', undefined);
    const r = await verifyImage(argv.image, (bytes, total) => progress.show(() => `${humanBytes(bytes)} of ${humanBytes(total)} (${((bytes / Math.max(1, total)) * 100).toFixed(1)}%)`)).finally(() => progress.done());
    if (argv.json) await writeOut(toJson(r, 2) + '\n');
    else {
      const lines = r.hashes.map((h) => `${h.algorithm.toUpperCase()} ${h.match ? 'matches' : 'MISMATCH'}: computed ${h.computed}, acquisition ${h.stored}`);
      for (const c of r.badChunks) {
        lines.push(`chunk ${c.index} (media bytes ${c.start}-${c.end - 1}) in ${c.segment} at offset ${c.offset}, ${c.compressed ? 'compressed' : 'stored'}: ${c.problem}`);
      }
      lines.push(`${r.ok ? 'verified' : 'FAILED'}: ${r.chunks} chunks, ${r.mediaSize} bytes${r.badChunks.length ? `, ${r.badChunks.length} damaged chunk(s)` : ''}`);
      await writeOut(lines.join('\n') + '\n');
    }
    process.exitCode = r.ok ? EXIT.OK : EXIT.PROBLEMS;
  },
};
