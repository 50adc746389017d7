// The subvolume pair matrix as an SVG heat map: one labelled row and column per subvolume, every cell
// coloured on one linear scale (white = nothing shared, dark blue = the largest figure) and showing
// its value, the diagonal (what a subvolume references itself) outlined, and a scale bar.

import type { SharingReport } from './sharing.js';

const CELL = 76;
const CHAR = 7.2;
const PAD = 16;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Compact binary size: 0, 512 B, 64 KiB, 1.5 MiB. */
export function shortBytes(n: bigint): string {
  if (n === 0n) return '0';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const digits = i === 0 || v >= 100 || Number.isInteger(v) ? 0 : 1;
  return `${v.toFixed(digits)} ${units[i]}`;
}

/** Blues from #f7fbff (t = 0) to #08306b (t = 1). */
function colour(t: number): string {
  const stops: Array<[number, number, number]> = [[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const c = stops[i]!.map((a, k) => Math.round(a + (stops[i + 1]![k]! - a) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export function subvolumeLabel(s: { id: bigint; path: string }): string {
  return s.id === 5n ? '5 (top level)' : `${s.id} ${s.path}`;
}

export function renderHeatmap(report: SharingReport, title = 'Bytes shared between subvolumes'): string {
  const n = report.subvolumes.length;
  const labels = report.subvolumes.map(subvolumeLabel);
  const labelWidth = Math.ceil(Math.max(...labels.map((l) => l.length), 4) * CHAR) + PAD;
  let max = 0n;
  for (const row of report.matrix) for (const v of row) if (v > max) max = v;
  const x0 = PAD + labelWidth;
  const y0 = 80 + labelWidth; // column labels are written upwards above the grid
  const gridW = n * CELL;
  const width = Math.max(x0 + gridW + PAD, 480);
  const height = y0 + gridW + 90;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Verdana, sans-serif">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${PAD}" y="26" font-size="18" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="${PAD}" y="46" font-size="12" fill="#444">Each cell: logical bytes referenced by files of both subvolumes.</text>`);
  out.push(`<text x="${PAD}" y="62" font-size="12" fill="#444">Diagonal (outlined): bytes the subvolume references itself.</text>`);
  for (let i = 0; i < n; i++) {
    const cy = y0 + i * CELL + CELL / 2;
    out.push(`<text x="${x0 - 8}" y="${cy + 4}" font-size="12" text-anchor="end">${esc(labels[i]!)}</text>`);
    const cx = x0 + i * CELL + CELL / 2;
    out.push(`<text transform="translate(${cx + 4},${y0 - 8}) rotate(-90)" font-size="12">${esc(labels[i]!)}</text>`);
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = report.matrix[i]![j]!;
      const t = max === 0n ? 0 : Number((v * 1000n) / max) / 1000;
      const x = x0 + j * CELL;
      const y = y0 + i * CELL;
      const stroke = i === j ? ' stroke="#111" stroke-width="2"' : ' stroke="#ddd" stroke-width="1"';
      out.push(`<rect x="${x}" y="${y}" width="${CELL}" height="${CELL}" fill="${colour(t)}"${stroke}><title>${esc(`${labels[i]} / ${labels[j]}: ${v} bytes`)}</title></rect>`);
      out.push(`<text x="${x + CELL / 2}" y="${y + CELL / 2 + 4}" font-size="12" text-anchor="middle" fill="${t > 0.5 ? 'white' : '#111'}">${esc(shortBytes(v))}</text>`);
    }
  }
  // Scale bar.
  const by = y0 + gridW + 30;
  const bw = Math.max(200, Math.min(gridW, 400));
  out.push('<defs><linearGradient id="scale">');
  for (let k = 0; k <= 4; k++) out.push(`<stop offset="${k * 25}%" stop-color="${colour(k / 4)}"/>`);
  out.push('</linearGradient></defs>');
  out.push(`<rect x="${x0}" y="${by}" width="${bw}" height="14" fill="url(#scale)" stroke="#999"/>`);
  out.push(`<text x="${x0}" y="${by + 30}" font-size="12">0</text>`);
  out.push(`<text x="${x0 + bw}" y="${by + 30}" font-size="12" text-anchor="end">${esc(shortBytes(max))}</text>`);
  out.push(`<text x="${x0 - 8}" y="${by + 12}" font-size="12" text-anchor="end">scale</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
