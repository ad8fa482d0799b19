import { describe, expect, it, type TestContext } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse } from 'yaml';
import { HARNESS_ROOT } from '../../src/lab/paths.js';
import { composeYaml } from '../../src/topology/compose.js';

/**
 * docker-compose.test.yml against the Compose Specification's JSON schema. There is no Docker engine
 * or compose CLI here, so the schema is the check that runs; it lives beside the clone
 * (../shared/compose-spec/, see its README), and where it is absent the test says so and is skipped.
 */
const SCHEMA = join(HARNESS_ROOT, '..', 'shared', 'compose-spec', 'compose-spec.json');

function validator(ctx: TestContext): ((doc: unknown) => ErrorObject[]) {
  if (!existsSync(SCHEMA)) {
    const why = `the Compose Specification schema is not at ${SCHEMA} (compose-spec/compose-spec, schema/compose-spec.json)`;
    process.stderr.write(`[skipped] docker-compose.test.yml schema check: ${why}\n`);
    ctx.skip(why);
  }
  const schema = JSON.parse(readFileSync(SCHEMA, 'utf8')) as Record<string, unknown>;
  // The schema declares draft-07 by $schema; Ajv's default class is draft-07, the key itself is not needed.
  delete schema.$schema;
  // strict off: the schema uses annotations Ajv's strict mode does not know; formats are not asserted by compose either.
  const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(schema);
  return (doc) => (validate(doc) ? [] : [...(validate.errors ?? [])]);
}

const describeErrors = (errors: ErrorObject[]) => errors.map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n');

describe('docker-compose.test.yml against the Compose Specification', () => {
  it('the committed file (with nginx in front of the gateway) is valid', (ctx) => {
    const check = validator(ctx);
    const committed = readFileSync(join(HARNESS_ROOT, 'docker-compose.test.yml'), 'utf8');
    expect(committed).toBe(composeYaml());
    const doc = parse(committed, { version: '1.1' }) as { services: Record<string, unknown> };
    expect(Object.keys(doc.services)).toContain('nginx');
    const errors = check(doc);
    expect(errors, describeErrors(errors)).toEqual([]);
  });

  it('the check can fail: a misspelt key and a wrongly shaped depends_on are refused', (ctx) => {
    const check = validator(ctx);
    const doc = parse(composeYaml(), { version: '1.1' }) as { services: Record<string, Record<string, unknown>> };
    doc.services.nginx!.dependson = ['api-gateway'];
    expect(describeErrors(check(doc))).toMatch(/\/services\/nginx .*dependson/);
    const doc2 = parse(composeYaml(), { version: '1.1' }) as { services: Record<string, Record<string, unknown>> };
    doc2.services.nginx!.depends_on = 'api-gateway';
    expect(describeErrors(check(doc2))).toMatch(/\/services\/nginx\/depends_on/);
  });
});
