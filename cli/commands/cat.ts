import type { CommandModule } from 'yargs';
import { imageOptions, withImage, writeOut, type ImageArgs } from '../common.js';

export interface CatArgs extends ImageArgs {
  path: string;
}

export const catCommand: CommandModule<object, CatArgs> = {
  command: 'cat <image> <path>',
  describe: 'write a file\'s bytes to stdout (every data checksum verified, shared extents read once)',
  builder: (y) => imageOptions(y).positional('path', { type: 'string', demandOption: true, describe: 'file inside the filesystem' }) as never,
  handler: (argv) =>
    withImage(argv, async (fs) => {
      for await (const chunk of fs.createReadStream(argv.path)) await writeOut(chunk as Buffer);
    }, { readaheadBytes: 1024 * 1024 }),
};
