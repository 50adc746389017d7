import type { CommandModule } from 'yargs';
import { fsInfo } from '../../lib/fs/info.js';
import type { ContainerInfo } from '../../lib/io/source.js';
import { humanBytes, imageOptions, toJson, withImage, writeOut, type ImageArgs } from '../common.js';

export const infoCommand: CommandModule<object, ImageArgs> = {
  command: 'info <image>',
  describe: 'label, fsid, sizes, checksum type, features, devices, space by profile',
  builder: (y) => imageOptions(y),
  handler: (argv) =>
    withImage(argv, async (fs) => {
      const info = await fsInfo(fs.filesystem);
      // What the image files are: a container's format, files and metadata (E01 case data, qcow2 snapshots, ...).
      const containers = [...fs.filesystem.devices.devices.values()].flatMap((d) => (d.source.container ? [{ devid: d.devid, ...d.source.container }] : []));
      if (argv.json) return writeOut(toJson(containers.length ? { ...info, containers } : info, 2) + '\n');
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
        ...containers.flatMap((c) => containerLines(c, `devid ${c.devid}`)),
      ];
      return writeOut(lines.join('\n') + '\n');
    }),
};

function containerLines(c: ContainerInfo, whose: string): string[] {
  const lines = [`Container (${whose}): ${c.format}`, `  files:              ${c.files.join(', ')}`];
  for (const [k, v] of c.details) lines.push(`  ${`${k}:`.padEnd(19)} ${v}`);
  if (c.parent) lines.push(...containerLines(c.parent, 'backing/parent'));
  return lines;
}
