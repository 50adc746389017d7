import type { CommandModule } from 'yargs';
import { fsInfo } from '../../lib/fs/info.js';
import { humanBytes, imageOptions, toJson, withImage, writeOut, type ImageArgs } from '../common.js';

export const infoCommand: CommandModule<object, ImageArgs> = {
  command: 'info <image>',
  describe: 'label, fsid, sizes, checksum type, features, devices, space by profile',
  builder: (y) => imageOptions(y),
  handler: (argv) =>
    withImage(argv, async (fs) => {
      const info = await fsInfo(fs.filesystem);
      if (argv.json) return writeOut(toJson(info, 2) + '\n');
      const lines = [
        `Label:           ${info.label || '(none)'}`,
        `UUID:            ${info.fsid}`,
        `Generation:      ${info.generation}`,
        `Total bytes:     ${info.totalBytes} (${humanBytes(info.totalBytes)})`,
        `Bytes used:      ${info.bytesUsed} (${humanBytes(info.bytesUsed)})`,
        `Sector size:     ${info.sectorsize}`,
        `Node size:       ${info.nodesize}`,
        `Checksum:        ${info.csumType}`,
        `Features:        ${[...info.features.incompat, ...info.features.compatRo].join(', ')}`,
        `Log tree:        ${info.logRoot ? `present at ${info.logRoot} (not replayed)` : 'none'}`,
        `Devices:         ${info.numDevices}`,
        ...info.devices.map((d) => `  devid ${String(d.devid).padStart(3)} size ${humanBytes(d.totalBytes).padStart(10)} used ${humanBytes(d.bytesUsed).padStart(10)} ${d.path ?? 'MISSING'} (${d.uuid})`),
        'Space:',
        ...info.space.map((s) => `  ${`${s.type}, ${s.profile}:`.padEnd(26)} total ${humanBytes(s.size).padStart(10)}, used ${humanBytes(s.used).padStart(10)} in ${s.chunks} chunk(s)`),
      ];
      return writeOut(lines.join('\n') + '\n');
    }),
};
