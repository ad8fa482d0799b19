/**
 * JSON Schemas of the file formats, generated from their zod schemas (z.toJSONSchema, the input side: what a
 * file may say, defaults optional, durations as strings or numbers), as draft-07 (what editors' YAML and JSON
 * language servers read best). Published in schemas/ for editors (`# yaml-language-server: $schema=…` in
 * YAML, `"$schema"` in JSON); `scripts/gen-schemas.ts` writes them and a unit test fails when they drift.
 */
import { z } from 'zod';
import { BudgetsFileSchema } from '../k6/budgets.js';
import { CatalogueSchema } from './claims.js';
import { ExperimentSchema } from './spec.js';

type Json = Record<string, unknown>;

/**
 * A hypothesis without `kind` is a threshold, a workload without it a k6 one (their schemas add it before the
 * union picks a member): the default member says `kind` is required, which would flag every kind-less one in an editor.
 */
function kindOptionalForThreshold(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(kindOptionalForThreshold);
  if (typeof node !== 'object' || node === null) return;
  const o = node as Json;
  const kind = (o.properties as Json | undefined)?.kind as Json | undefined;
  if ((kind?.const === 'threshold' || kind?.const === 'k6') && Array.isArray(o.required)) o.required = (o.required as string[]).filter((k) => k !== 'kind');
  Object.values(o).forEach(kindOptionalForThreshold);
}

function generate(schema: z.ZodType, title: string): Json {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-7', unrepresentable: 'any' }) as Json;
  kindOptionalForThreshold(json);
  return { $schema: json.$schema, title, ...Object.fromEntries(Object.entries(json).filter(([k]) => k !== '$schema')) };
}

/** schemas/<file> → its JSON Schema. */
export function jsonSchemas(): Record<string, Record<string, unknown>> {
  return {
    'experiment.schema.json': generate(ExperimentSchema, 'sch experiment (sch run / sch validate <file.yaml|json>)'),
    'claims.schema.json': generate(CatalogueSchema, 'sch claims catalogue (fixtures/claims.yaml)'),
    'budgets.schema.json': generate(BudgetsFileSchema, 'sch budgets: k6 thresholds with their audit lines (fixtures/budgets.yaml)'),
  };
}

/** The file's text as written (stable key order from the zod schemas, 2-space indent, final newline). */
export const schemaText = (s: Record<string, unknown>): string => `${JSON.stringify(s, null, 2)}\n`;
