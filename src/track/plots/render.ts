import sharp from 'sharp';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * Vega-Lite spec -> PNG bytes. Vega renders headless to SVG (renderer 'none' needs no canvas
 * package, which is not installable here); sharp rasterises the SVG.
 */
export async function renderPng(spec: TopLevelSpec, scale = 2): Promise<Buffer> {
  const vegaSpec = compile(spec).spec;
  const view = new View(parse(vegaSpec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    // density scales the SVG's 72-dpi user units, so scale=2 gives a crisp 2x image.
    return await sharp(Buffer.from(svg), { density: 72 * scale }).flatten({ background: '#ffffff' }).png().toBuffer();
  } finally {
    view.finalize();
  }
}
