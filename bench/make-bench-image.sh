#!/usr/bin/env bash
# Builds the benchmark image (not committed; a few minutes, about 1.3 GiB of disk). Run by hand as root:
#
#   sudo bash bench/make-bench-image.sh [DIR]        # DIR defaults to /tmp/btrfs-lens-bench
#
# Contents of DIR/bench.img (one Btrfs device, default mkfs, 2.5 GiB sparse file):
#   /plain/big-NN.bin       4 x 160 MiB incompressible (mounted without compression)
#   /zstd/text-NN.txt       4 x 128 MiB compressible text written with compress-force=zstd
#   /small/dNNN/fNNN.txt    20,000 small files (100 B .. 24 KiB, many of them inline) in 200 directories
#   /base                   a subvolume with ~64 MiB of mixed data: incompressible, compressible-uncompressed,
#                           zstd-compressed (compress-force), small files
#   /snap1 .. /snap8        read-only snapshots of /base; base changes a little between snapshots, so
#                           most extents are shared by all nine trees and some by only a few
# The last line printed is the image path.
DIR=${1:-/tmp/btrfs-lens-bench}
IMG=$DIR/bench.img
# shellcheck source=bench/image-common.sh
source "$(dirname "$0")/image-common.sh"

# incompressible, reproducible: AES-128-CTR keystream keyed by the seed
gen_rand() {
  local key
  key=$(printf '%s' "$1" | sha256sum | cut -c1-32)
  head -c "$2" /dev/zero | openssl enc -aes-128-ctr -K "$key" -iv 00000000000000000000000000000000
}
# compressible text, every 4 KiB different
gen_text() {
  awk -v tag="$1" -v n="$2" 'BEGIN {
    total = 0; i = 0
    while (total < n) {
      line = sprintf("%s %012d pack my box with five dozen liquor jugs; sphinx of black quartz\n", tag, i++)
      if (total + length(line) > n) line = substr(line, 1, n - total)
      printf "%s", line; total += length(line)
    }
  }'
}
# N small files under DIR: COUNT files in COUNT/100 directories, sizes 100 B .. 24 KiB
small_files() {
  node - "$1" "$2" "$3" <<'EOF'
const fs = require('fs');
const [dir, count, tag] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
let state = 12345;
const rnd = () => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32;
for (let i = 0; i < count; i++) {
  const d = `${dir}/d${String(Math.floor(i / 100)).padStart(3, '0')}`;
  if (i % 100 === 0) fs.mkdirSync(d, { recursive: true });
  // mostly small (inline), some a few sectors
  const size = rnd() < 0.6 ? 100 + Math.floor(rnd() * 1900) : 2048 + Math.floor(rnd() * 22528);
  let s = '';
  for (let line = 0; s.length < size; line++) s += `${tag} file ${i} line ${line} the quick brown fox\n`;
  fs.writeFileSync(`${d}/f${String(i % 100).padStart(3, '0')}.txt`, s.slice(0, size));
}
EOF
}

make_and_mount 2560M btrfs-lens-bench
cd "$MNT"

echo "  plain: 640 MiB incompressible" >&2
mkdir plain
for i in 1 2 3 4; do gen_rand "bench-plain-$i" $((160 << 20)) >"plain/big-0$i.bin"; done
sync

echo "  zstd: 512 MiB of text with compress-force=zstd" >&2
mount -o remount,compress-force=zstd "$MNT"
mkdir zstd
for i in 1 2 3 4; do gen_text "bench-zstd-$i" $((128 << 20)) >"zstd/text-0$i.txt"; done
sync
mount -o remount,compress=no "$MNT"

echo "  small: 20,000 files" >&2
small_files "$MNT/small" 20000 small
sync

echo "  base: ~64 MiB mixed, then 8 read-only snapshots" >&2
btrfs -q subvolume create base
gen_rand bench-base-rand $((24 << 20)) >base/random.bin
gen_text bench-base-text $((16 << 20)) >base/text-uncompressed.txt
mkdir base/compressed
btrfs property set base/compressed compression zstd
mount -o remount,compress-force=zstd "$MNT"
gen_text bench-base-zstd $((20 << 20)) >base/compressed/text.txt
sync
mount -o remount,compress=no "$MNT"
small_files "$MNT/base/small" 1000 base
sync
for i in 1 2 3 4 5 6 7 8; do
  btrfs -q subvolume snapshot -r base "snap$i"
  # a small change between snapshots: 1 MiB of random.bin and one small file
  gen_rand "bench-change-$i" $((1 << 20)) | dd of=base/random.bin bs=1M seek=$((i * 2)) conv=notrunc status=none
  printf 'changed after snapshot %d\n' "$i" >"base/small/d000/f00$((i % 10)).txt"
  sync
done

btrfs filesystem du -s "$MNT"/plain "$MNT"/zstd "$MNT"/small "$MNT"/base "$MNT"/snap1 >&2
unmount_and_report
