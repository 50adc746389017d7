# Shared by the bench image scripts (sourced): root and tools checked, a loop device and a mount
# point for $IMG that are taken down however the script ends. The caller sets IMG and DIR first.
set -euo pipefail
export LC_ALL=C

SCRIPT=$(basename "$0")
[[ $EUID -eq 0 ]] || { echo "$SCRIPT: must run as root" >&2; exit 1; }
for tool in mkfs.btrfs btrfs losetup openssl awk node; do
  command -v "$tool" >/dev/null || { echo "$SCRIPT: missing $tool" >&2; exit 1; }
done
mkdir -p "$DIR"
MNT=$(mktemp -d "$DIR/mnt.XXXXXX")
LOOP=""

cleanup() {
  local rc=$?
  set +e
  cd /
  if mountpoint -q "$MNT"; then umount "$MNT" || umount -l "$MNT"; fi
  if [[ -n $LOOP && "$(losetup -n -O BACK-FILE "$LOOP" 2>/dev/null)" == "$IMG" ]]; then losetup -d "$LOOP"; fi
  rmdir "$MNT" 2>/dev/null
  if ((rc != 0)); then echo "$SCRIPT: FAILED (exit $rc)" >&2; fi
  exit "$rc"
}
trap cleanup EXIT

# A fresh sparse image of size $1 with a new filesystem, mounted at $MNT (extra mkfs options after it).
make_and_mount() {
  local size=$1 label=$2
  echo "building $IMG" >&2
  rm -f "$IMG"
  truncate -s "$size" "$IMG"
  mkfs.btrfs -q -f -L "$label" "$IMG" >/dev/null
  LOOP=$(losetup -f --show "$IMG")
  mount -t btrfs "$LOOP" "$MNT"
}

unmount_and_report() {
  cd /
  umount "$MNT"
  losetup -d "$LOOP"
  LOOP=""
  echo "image: $(du -h --apparent-size "$IMG" | cut -f1) apparent, $(du -h "$IMG" | cut -f1) on disk" >&2
  echo "$IMG"
}
