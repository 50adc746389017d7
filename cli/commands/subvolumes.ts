import type { CommandModule } from 'yargs';
import { imageOptions, toJson, withImage, writeOut, type ImageArgs } from '../common.js';

export const subvolumesCommand: CommandModule<object, ImageArgs> = {
  command: 'subvolumes <image>',
  describe: 'list subvolumes and snapshots (id, parent, path, uuids, read-only, generation)',
  builder: (y) => imageOptions(y),
  handler: (argv) =>
    withImage(argv, async (fs) => {
      const list = await fs.subvolumes();
      if (argv.json) {
        const rows = list.map((s) => ({
          id: s.id, parent: s.parent, path: s.path, uuid: s.uuid, parent_uuid: s.parentUuid, readonly: s.readonly, generation: s.generation,
        }));
        return writeOut(toJson(rows, 2) + '\n');
      }
      const lines = list.map((s) =>
        `ID ${s.id} gen ${s.generation} parent ${s.parent} ${s.readonly ? 'ro' : 'rw'} uuid ${s.uuid} parent_uuid ${s.parentUuid ?? '-'} path ${s.path}`);
      return writeOut(lines.join('\n') + (lines.length ? '\n' : ''));
    }),
};
