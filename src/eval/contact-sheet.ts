/**
 * Contact sheet for `dsi search --png`: a legend for the outlines at the top, then per query one
 * band with the query image first (outlined blue), then its top-K results in rank order, each
 * captioned with rank, score and class; results of the query's class are outlined green, others
 * red, and no outline at all when the query's class is unknown. As many columns as K needs (up to
 * 10 a line). Drawn with sharp (raw tiles + SVG labels).
 */
import sharp from 'sharp';

export interface SheetTile {
  /** S x S x 3 RGB. */
  pixels: Uint8Array;
  size: number;
  caption: string;
  /** A second caption line (e.g. the class name). */
  detail?: string;
  /** true: relevant, false: not relevant, null: unknown (no outline). */
  relevant: boolean | null;
}

export interface SheetRow {
  query: SheetTile;
  results: SheetTile[];
}

const TILE = 112;
const PAD = 8;
const CAPTION = 40;
const MAX_PER_LINE = 10;
const BORDER = 5;
const LEGEND = 30;
const COLOURS = { query: '#1f4fd1', relevant: '#19a34a', other: '#d12a1f' };

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

/** Lines of up to MAX_PER_LINE results (as many columns as the longest ranking needs); the query sits left of the first line. */
function layout(rows: readonly SheetRow[]) {
  const cell = TILE + PAD;
  const PER_LINE = Math.max(1, Math.min(MAX_PER_LINE, ...rows.map((r) => r.results.length)));
  // Wide enough for the legend even when K is small.
  const width = Math.max(PAD + cell * (PER_LINE + 1) + PAD, 560);
  let y = PAD + LEGEND;
  const placed: { tile: SheetTile; x: number; y: number; isQuery: boolean }[] = [];
  for (const row of rows) {
    placed.push({ tile: row.query, x: PAD, y, isQuery: true });
    const lines = Math.max(1, Math.ceil(row.results.length / PER_LINE));
    row.results.forEach((tile, i) => {
      placed.push({ tile, x: PAD + cell * (1 + (i % PER_LINE)) + PAD, y: y + Math.floor(i / PER_LINE) * (TILE + CAPTION), isQuery: false });
    });
    y += lines * (TILE + CAPTION) + PAD * 2;
  }
  return { width, height: y, placed };
}

export async function renderContactSheet(rows: readonly SheetRow[]): Promise<Buffer> {
  const { width, height, placed } = layout(rows);
  const tiles = await Promise.all(
    placed.map(async (p) => ({
      input: await sharp(Buffer.from(p.tile.pixels), { raw: { width: p.tile.size, height: p.tile.size, channels: 3 } })
        .resize(TILE, TILE, { kernel: 'nearest' })
        .png()
        .toBuffer(),
      left: p.x,
      top: p.y,
    })),
  );
  const svg: string[] = [];
  const text = (x: number, y: number, s: string, anchor = 'middle', size = 12, colour = '#222') =>
    `<text x="${x}" y="${y}" font-family="sans-serif" font-size="${size}" text-anchor="${anchor}" fill="${colour}">${escapeXml(s)}</text>`;
  let lx = PAD;
  for (const [label, colour] of [['query', COLOURS.query], ['same class as the query', COLOURS.relevant], ['other class', COLOURS.other]] as const) {
    svg.push(`<rect x="${lx + 2}" y="${PAD + 4}" width="16" height="16" fill="none" stroke="${colour}" stroke-width="3"/>`, text(lx + 24, PAD + 17, label, 'start', 13));
    lx += 30 + label.length * 7.5;
  }
  for (const p of placed) {
    const colour = p.isQuery ? COLOURS.query : p.tile.relevant === true ? COLOURS.relevant : p.tile.relevant === false ? COLOURS.other : null;
    if (colour) {
      svg.push(`<rect x="${p.x - BORDER / 2}" y="${p.y - BORDER / 2}" width="${TILE + BORDER}" height="${TILE + BORDER}" fill="none" stroke="${colour}" stroke-width="${BORDER}"/>`);
    }
    const fit = (s: string) => (s.length > 19 ? `${s.slice(0, 18)}…` : s);
    svg.push(text(p.x + TILE / 2, p.y + TILE + 17, fit(p.tile.caption)));
    if (p.tile.detail) svg.push(text(p.x + TILE / 2, p.y + TILE + 31, fit(p.tile.detail), 'middle', 11, '#555'));
  }
  const overlay = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${svg.join('')}</svg>`);
  return sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite([...tiles, { input: overlay, left: 0, top: 0 }])
    .png()
    .toBuffer();
}
