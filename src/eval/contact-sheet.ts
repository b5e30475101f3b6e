/**
 * Contact sheet for `dsi search --png`: per query one band with the query image first, then its
 * top-K results in rank order; results of the query's class are outlined green, others red, and
 * no outline at all when the query's class is unknown. Drawn with sharp (raw tiles + SVG labels).
 */
import sharp from 'sharp';

export interface SheetTile {
  /** S x S x 3 RGB. */
  pixels: Uint8Array;
  size: number;
  caption: string;
  /** true: relevant, false: not relevant, null: unknown (no outline). */
  relevant: boolean | null;
}

export interface SheetRow {
  query: SheetTile;
  results: SheetTile[];
}

const TILE = 112;
const PAD = 8;
const CAPTION = 28;
const PER_LINE = 10;
const BORDER = 5;

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

/** Lines of `PER_LINE` results; the query sits left of the first line. */
function layout(rows: readonly SheetRow[]) {
  const cell = TILE + PAD;
  const width = PAD + cell * (PER_LINE + 1) + PAD;
  let y = PAD;
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
  for (const p of placed) {
    const colour = p.isQuery ? '#1f4fd1' : p.tile.relevant === true ? '#19a34a' : p.tile.relevant === false ? '#d12a1f' : null;
    if (colour) {
      svg.push(`<rect x="${p.x - BORDER / 2}" y="${p.y - BORDER / 2}" width="${TILE + BORDER}" height="${TILE + BORDER}" fill="none" stroke="${colour}" stroke-width="${BORDER}"/>`);
    }
    const text = escapeXml(p.tile.caption.length > 20 ? `${p.tile.caption.slice(0, 19)}…` : p.tile.caption);
    svg.push(`<text x="${p.x + TILE / 2}" y="${p.y + TILE + 17}" font-family="sans-serif" font-size="12" text-anchor="middle" fill="#222">${text}</text>`);
  }
  const overlay = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${svg.join('')}</svg>`);
  return sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite([...tiles, { input: overlay, left: 0, top: 0 }])
    .png()
    .toBuffer();
}
