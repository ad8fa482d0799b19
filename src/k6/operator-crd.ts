/**
 * Validation of rendered k6-operator manifests (src/k6/operator.ts) against the operator's TestRun
 * CustomResourceDefinition: its OpenAPI v3 schema, made as strict as the API server is, plus the object
 * metadata the schema leaves to Kubernetes. The CRD file is the operator's own (../shared/k6-operator/, see
 * its README); there is no cluster here, so this is the check the manifests get.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { z } from 'zod';
import { HARNESS_ROOT } from '../lab/paths.js';

/** Where the TestRun CRD sits beside the repository (shared with the other checkouts of this machine); SCH_K6_OPERATOR_CRD moves it. */
export const CRD_FILE = resolve(process.env.SCH_K6_OPERATOR_CRD ?? join(HARNESS_ROOT, '..', 'shared', 'k6-operator', 'k6.io_testruns.yaml'));

/** Vendor keywords the CRD uses: they steer merging and pruning in the API server, not what is valid. */
const KUBERNETES_KEYWORDS = [
  'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-validations',
] as const;

const CrdFileSchema = z.object({
  kind: z.literal('CustomResourceDefinition'),
  spec: z.object({
    group: z.string().min(1),
    names: z.object({ kind: z.string().min(1) }),
    versions: z.array(z.object({
      name: z.string().min(1),
      served: z.boolean().optional(),
      storage: z.boolean().optional(),
      schema: z.object({ openAPIV3Schema: z.record(z.string(), z.unknown()) }),
    })).min(1),
  }),
});

type SchemaNode = Record<string, unknown>;

const isNode = (v: unknown): v is SchemaNode => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The schema as the API server applies it: an object schema with `properties` and no `additionalProperties`
 * (nor x-kubernetes-preserve-unknown-fields) has its unknown fields dropped by structural pruning, or
 * refused by kubectl's strict field validation. Either way a misspelt field never reaches the operator,
 * so here it is an error (`additionalProperties: false`). Returns a copy.
 */
export function structuralStrict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structuralStrict);
  if (!isNode(node)) return node;
  const out: SchemaNode = {};
  for (const [k, v] of Object.entries(node)) {
    // `properties` maps field names to schemas: recurse into each schema, never treat a field name as a keyword.
    out[k] = k === 'properties' && isNode(v) ? Object.fromEntries(Object.entries(v).map(([f, s]) => [f, structuralStrict(s)])) : structuralStrict(v);
  }
  if (isNode(node.properties) && node.additionalProperties === undefined && node['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  return out;
}

/** The CRD's served version with its group and kind: what a manifest's apiVersion / kind must say. */
export interface TestRunCrd {
  file: string;
  apiVersion: string;
  kind: string;
  schema: SchemaNode;
}

/** Why the CRD file cannot be used (absent, unreadable), or null. Tests skip with this reason. */
export function crdProblem(file: string = CRD_FILE): string | null {
  if (!existsSync(file)) return `the k6-operator TestRun CRD is not at ${file} (the operator's config/crd/bases/k6.io_testruns.yaml; see ../shared/k6-operator/README.md)`;
  try {
    loadTestRunCrd(file);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Read the CRD: its first served version's OpenAPI v3 schema (throws naming the file). */
export function loadTestRunCrd(file: string = CRD_FILE): TestRunCrd {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not readable YAML: ${(e as Error).message}`);
  }
  const r = CrdFileSchema.safeParse(raw);
  if (!r.success) throw new Error(`${file}: not a CustomResourceDefinition with an openAPIV3Schema (${r.error.issues[0]?.path.join('.') ?? ''}: ${r.error.issues[0]?.message ?? ''})`);
  const version = r.data.spec.versions.find((v) => v.served !== false) ?? r.data.spec.versions[0]!;
  return { file, apiVersion: `${r.data.spec.group}/${version.name}`, kind: r.data.spec.names.kind, schema: version.schema.openAPIV3Schema };
}

const INT32 = 2 ** 31;

/** Kubernetes object names: DNS-1123 labels (what Services and Jobs the operator derives from a TestRun's name need). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** DNS-1123 subdomains (ConfigMap, PersistentVolumeClaim names), at most 253 characters. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Problems with an object's metadata the CRD schema leaves to the API server (`metadata: {type: object}`). */
export function metadataProblems(meta: unknown, o: { nameRule: 'label' | 'subdomain' }): string[] {
  const out: string[] = [];
  if (!isNode(meta)) return ['metadata: missing'];
  const name = meta.name;
  if (typeof name !== 'string' || name === '') out.push('metadata.name: missing');
  else if (o.nameRule === 'label' ? !(DNS_LABEL.test(name) && name.length <= 63) : !(DNS_SUBDOMAIN.test(name) && name.length <= 253)) out.push(`metadata.name "${name}": not a DNS-1123 ${o.nameRule === 'label' ? 'label (at most 63 characters)' : 'subdomain'}`);
  if (meta.namespace !== undefined && !(typeof meta.namespace === 'string' && DNS_LABEL.test(meta.namespace) && meta.namespace.length <= 63)) out.push(`metadata.namespace "${String(meta.namespace)}": not a DNS-1123 label`);
  for (const field of ['labels', 'annotations'] as const) {
    const m = meta[field];
    if (m === undefined) continue;
    if (!isNode(m)) { out.push(`metadata.${field}: not a map`); continue; }
    for (const [k, v] of Object.entries(m)) {
      const [prefix, key] = k.includes('/') ? [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)] : [null, k];
      if ((prefix !== null && !(DNS_SUBDOMAIN.test(prefix) && prefix.length <= 253)) || !(LABEL_NAME.test(key) && key.length <= 63)) out.push(`metadata.${field}: key "${k}" is not a qualified name`);
      if (typeof v !== 'string') out.push(`metadata.${field}.${k}: not a string`);
      else if (field === 'labels' && v !== '' && !(LABEL_NAME.test(v) && v.length <= 63)) out.push(`metadata.labels.${k}: "${v}" is not a label value (63 characters of [A-Za-z0-9-_.])`);
    }
  }
  return out;
}

function describe(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(root)' : e.instancePath.slice(1).replace(/\//g, '.');
  if (e.keyword === 'additionalProperties') return `${where}: unknown field "${String((e.params as { additionalProperty?: unknown }).additionalProperty)}" (the API server would drop or refuse it)`;
  return `${where}: ${e.message ?? e.keyword}`;
}

/** Validates TestRun objects against the CRD (schema + apiVersion/kind + metadata). */
export class TestRunValidator {
  readonly crd: TestRunCrd;
  private readonly validateFn: ValidateFunction;

  constructor(file: string = CRD_FILE) {
    this.crd = loadTestRunCrd(file);
    // strict: an unknown keyword or format is a mistake here, except the Kubernetes vendor keywords.
    // strictTypes off: the schema puts `pattern` beside `anyOf: [integer, string]` (int-or-string quantities).
    const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
    for (const keyword of KUBERNETES_KEYWORDS) ajv.addKeyword({ keyword });
    ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -INT32 && n < INT32 });
    ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
    ajv.addFormat('date-time', { type: 'string', validate: (s: string) => !Number.isNaN(Date.parse(s)) });
    this.validateFn = ajv.compile(structuralStrict(this.crd.schema) as SchemaNode);
  }

  /** Every problem, one line each naming the field; empty when the object is a valid TestRun. */
  problems(obj: unknown): string[] {
    const out: string[] = [];
    if (!this.validateFn(obj)) out.push(...(this.validateFn.errors ?? []).map(describe));
    if (!isNode(obj)) return out.length ? out : ['not an object'];
    if (obj.apiVersion !== this.crd.apiVersion) out.push(`apiVersion: "${String(obj.apiVersion)}", the CRD serves ${this.crd.apiVersion}`);
    if (obj.kind !== this.crd.kind) out.push(`kind: "${String(obj.kind)}", the CRD defines ${this.crd.kind}`);
    out.push(...metadataProblems(obj.metadata, { nameRule: 'label' }));
    return [...new Set(out)];
  }
}
