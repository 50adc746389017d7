#!/usr/bin/env bash
# Builds the many-files benchmark image (not committed; a minute or two, ~1 GiB sparse). Run as root:
#
#   sudo bash bench/make-many-files-image.sh [DIR]     # DIR defaults to /tmp/btrfs-lens-bench
#
# DIR/many-files.img: one Btrfs device, default mkfs, 200,000 small files (100 B .. 24 KiB, most of
# them inline) in 400 directories of 500, written by the kernel. The last line printed is the path.
DIR=${1:-/tmp/btrfs-lens-bench}
IMG=$DIR/many-files.img
# shellcheck source=bench/image-common.sh
source "$(dirname "$0")/image-common.sh"

make_and_mount 4G btrfs-lens-many
node - "$MNT/files" 400 500 <<'JS'
const fs = require('fs');
const [root, dirs, per] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
let state = 424242;
const rnd = () => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32;
for (let d = 0; d < dirs; d++) {
  const dir = `${root}/d${String(d).padStart(3, '0')}`;
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < per; i++) {
    // mostly small (inline), some a few sectors
    const size = rnd() < 0.6 ? 100 + Math.floor(rnd() * 1900) : 2048 + Math.floor(rnd() * 22528);
    let s = '';
    for (let line = 0; s.length < size; line++) s += `file ${d}/${i} line ${line} the quick brown fox\n`;
    fs.writeFileSync(`${dir}/f${String(i).padStart(3, '0')}.txt`, s.slice(0, size));
  }
}
JS
sync
unmount_and_report
