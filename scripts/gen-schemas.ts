/**
 * Regenerate schemas/*.schema.json from the zod schemas: `node --import tsx scripts/gen-schemas.ts`
 * (test/unit/json-schema.test.ts fails when they are out of date).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HARNESS_ROOT } from '../src/lab/paths.js';
import { jsonSchemas, schemaText } from '../src/experiment/json-schema.js';

const dir = join(HARNESS_ROOT, 'schemas');
mkdirSync(dir, { recursive: true });
for (const [name, schema] of Object.entries(jsonSchemas())) {
  writeFileSync(join(dir, name), schemaText(schema));
  process.stdout.write(`wrote schemas/${name}\n`);
}
