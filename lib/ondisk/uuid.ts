// UUIDs are 16 raw bytes on disk, shown in the usual 8-4-4-4-12 form (byte order as stored).

export function formatUuid(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function isZeroUuid(bytes: Buffer): boolean {
  return bytes.every((b) => b === 0);
}
