import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';
import { HARNESS_ROOT } from '../lab/paths.js';

/**
 * Validates HTTP responses against the committed contract (fixtures/secureconnect/contract/openapi.yaml):
 * the reference target and every harness client are tested against this one file, so drift on
 * either side fails a test.
 */
const SPEC_FILE = join(HARNESS_ROOT, 'fixtures', 'secureconnect', 'contract', 'openapi.yaml');
const SPEC_ID = 'https://secureconnect.test/openapi.json';

interface Operation { responses?: Record<string, { content?: Record<string, { schema?: unknown }>; $ref?: string }> }

export class ContractValidator {
  private readonly spec: { paths: Record<string, Record<string, Operation>>; components?: { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> } };
  private readonly ajv: Ajv2020;
  private readonly cache = new Map<string, ValidateFunction | null>();

  constructor(file = SPEC_FILE) {
    this.spec = parse(readFileSync(file, 'utf8'));
    // OpenAPI 3.1 schemas are JSON Schema 2020-12, with OpenAPI's own annotations (x-*, example...).
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    // ajv-formats is CommonJS: its default export arrives wrapped under ESM.
    const addFormats = ((formatsModule as unknown as { default?: unknown }).default ?? formatsModule) as (a: Ajv2020) => void;
    addFormats(this.ajv);
    this.ajv.addSchema({ ...this.spec, $id: SPEC_ID } as object);
  }

  /** The contract's statuses for an operation (throws for an operation the contract lacks). */
  statuses(method: string, path: string): string[] {
    return Object.keys(this.operation(method, path).responses ?? {});
  }

  private operation(method: string, path: string): Operation {
    const op = this.spec.paths[path]?.[method.toLowerCase()];
    if (!op) throw new Error(`contract has no operation ${method.toUpperCase()} ${path}`);
    return op;
  }

  /** Null when `body` conforms to the contract's schema for (method, path, status); else the errors. */
  check(method: string, path: string, status: number, body: unknown): string | null {
    const key = `${method} ${path} ${status}`;
    if (!this.cache.has(key)) {
      const op = this.operation(method, path);
      let resp = op.responses?.[String(status)];
      if (!resp) {
        this.cache.set(key, undefined as unknown as null);
        return `status ${status} is not in the contract for ${method.toUpperCase()} ${path} (contract: ${this.statuses(method, path).join(', ')})`;
      }
      if (resp.$ref) {
        const name = resp.$ref.split('/').pop()!;
        resp = this.spec.components?.responses?.[name] ?? {};
      }
      const media = resp.content?.['application/json'];
      if (!media?.schema) this.cache.set(key, null);
      else {
        const ptr = resp === op.responses?.[String(status)]
          ? `#/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema`
          : `#/components/responses/${(op.responses?.[String(status)]?.$ref ?? '').split('/').pop()}/content/application~1json/schema`;
        this.cache.set(key, this.ajv.compile({ $ref: `${SPEC_ID}${ptr}` }));
      }
    }
    const v = this.cache.get(key);
    if (v === undefined) return `status ${status} is not in the contract for ${method.toUpperCase()} ${path}`;
    if (v === null || v(body)) return null;
    return this.ajv.errorsText(v.errors, { separator: '; ' });
  }
}
