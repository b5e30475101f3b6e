import { z } from 'zod';
import { dataSection } from './sections/data.ts';
import { modelSection } from './sections/model.ts';
import { trainSection } from './sections/train.ts';
import { decodeSection } from './sections/decode.ts';
import { evalSection } from './sections/eval.ts';
import { bovwSection } from './sections/bovw.ts';
import { trackingSection } from './sections/tracking.ts';

/**
 * The one schema: every config key, its type, default and help text lives in a section file.
 * Cross-key rules live here, each reported as "key=value <why> <other key>=value".
 */
export const sections = {
  data: dataSection,
  model: modelSection,
  train: trainSection,
  decode: decodeSection,
  eval: evalSection,
  bovw: bovwSection,
  tracking: trackingSection,
} as const;

export const configSchema = z.strictObject({
  data: dataSection.default(() => dataSection.parse({})),
  model: modelSection.default(() => modelSection.parse({})),
  train: trainSection.default(() => trainSection.parse({})),
  decode: decodeSection.default(() => decodeSection.parse({})),
  eval: evalSection.default(() => evalSection.parse({})),
  bovw: bovwSection.default(() => bovwSection.parse({})),
  tracking: trackingSection.default(() => trackingSection.parse({})),
});

export type DsiConfig = z.infer<typeof configSchema>;

export interface CrossKeyProblem {
  key: string;
  message: string;
}

/** Rules that involve more than one key. */
export function crossKeyProblems(c: DsiConfig): CrossKeyProblem[] {
  const problems: CrossKeyProblem[] = [];
  const m = c.model;
  if (m.embed_dim % m.num_heads !== 0) {
    problems.push({ key: 'model.num_heads', message: `model.num_heads=${m.num_heads} must divide model.embed_dim=${m.embed_dim}` });
  }
  if (c.data.image_size % m.patch_size !== 0) {
    problems.push({
      key: 'data.image_size',
      message: `data.image_size=${c.data.image_size} must be a multiple of model.patch_size=${m.patch_size}`,
    });
  }
  const splitSum = c.data.query_split.reduce((a, b) => a + b, 0);
  if (Math.abs(splitSum - 1) > 1e-6) {
    problems.push({
      key: 'data.query_split',
      message: `data.query_split=[${c.data.query_split.join(', ')}] must sum to 1 (it sums to ${+splitSum.toFixed(6)})`,
    });
  }
  if ((c.data.source === 'folder' || c.data.source === 'coco') && !c.data.root) {
    problems.push({ key: 'data.root', message: `data.root is required when data.source=${c.data.source} (${c.data.source === 'coco' ? 'the COCO folder holding annotations/' : 'the <root>/<class>/<image> folder'}): pass --set data.root=PATH` });
  }
  if ((c.data.semantic_embeddings === null) !== (c.data.semantic_names === null)) {
    const missing = c.data.semantic_names === null ? 'data.semantic_names' : 'data.semantic_embeddings';
    problems.push({ key: missing, message: `${missing} is required with ${missing === 'data.semantic_names' ? 'data.semantic_embeddings' : 'data.semantic_names'} (the .npy's rows and the images they embed)` });
  }
  if (c.data.semantic_embeddings !== null && c.data.id_scheme !== 'semantic') {
    problems.push({ key: 'data.semantic_embeddings', message: `data.semantic_embeddings is only used with data.id_scheme=semantic (it is ${c.data.id_scheme})` });
  }
  if (c.decode.beam_width < c.eval.map_k) {
    problems.push({
      key: 'decode.beam_width',
      message: `decode.beam_width=${c.decode.beam_width} must be at least eval.map_k=${c.eval.map_k}`,
    });
  }
  return problems;
}

export interface KeyDoc {
  key: string;
  type: string;
  default: unknown;
  help: string;
}

/** Every key with its type, default and help text: feeds `dsi config --help`-style listings and the README. */
export function describeKeys(): KeyDoc[] {
  const docs: KeyDoc[] = [];
  for (const [name, section] of Object.entries(sections)) {
    const defaults = section.parse({}) as Record<string, unknown>;
    for (const [key, field] of Object.entries(section.shape)) {
      docs.push({
        key: `${name}.${key}`,
        type: typeName(field as z.ZodType),
        default: defaults[key],
        help: (field as z.ZodType).description ?? '',
      });
    }
  }
  return docs;
}

function typeName(field: z.ZodType): string {
  const json = z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  if (Array.isArray(json.enum)) return (json.enum as unknown[]).join('|');
  if (Array.isArray(json.anyOf)) {
    return (json.anyOf as Record<string, unknown>[])
      .map((s) => (s.const !== undefined ? String(s.const) : Array.isArray(s.enum) ? s.enum.join('|') : String(s.type)))
      .join('|');
  }
  if (json.type === 'array') return Array.isArray(json.prefixItems) ? 'number[3]' : 'number[]';
  return String(json.type ?? 'value');
}
