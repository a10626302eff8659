/**
 * DAG params as JSON Schema: each param's type, enum and optional keywords (minimum, maxLength, pattern,
 * items…) form one schema, checked with Ajv when a run is triggered with conf, and against the param's
 * own default when the DAG is parsed. Errors name the JSON path of the bad value: `conf.batchSize: must
 * be integer`, `conf.ids[2]: must be >= 1`.
 */
import { createRequire } from 'node:module';
import type * as AjvModule from 'ajv';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type { JsonObject, JsonValue, SerializedParam } from './serialized.ts';

/** JSON-schema keywords a param may add to its type and enum. */
export const PARAM_SCHEMA_KEYWORDS = [
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'required',
  'additionalProperties',
  'const',
] as const;

let ajv: Ajv | undefined;
/**
 * Ajv, loaded on first use: core/index.ts re-exports this module, and a light CLI command that imports core
 * must not pay for Ajv (~60 modules). Ajv is CommonJS, so a synchronous require keeps the callers synchronous.
 */
function getAjv(): Ajv {
  if (ajv) return ajv;
  const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof AjvModule;
  // Formats (date-time, email…) need ajv-formats; they are documented as not checked, so Ajv must not reject them.
  ajv = new AjvClass({ allErrors: true, strict: false, validateFormats: false });
  return ajv;
}
const compiled = new Map<string, ValidateFunction>();

/** The JSON Schema of one param. */
export function paramSchema(p: Pick<SerializedParam, 'type' | 'enum'> & { schema?: JsonObject }): JsonObject {
  return {
    ...(p.schema ?? {}),
    ...(p.type === 'any' ? {} : { type: p.type }),
    ...(p.enum ? { enum: p.enum } : {}),
  };
}

/** Compile a schema (cached); throws with Ajv's reason when the schema itself is invalid. */
export function compileParamSchema(schema: JsonObject): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (!v) {
    v = getAjv().compile(schema);
    compiled.set(key, v);
  }
  return v;
}

/** Problems of `value` against the param's schema, each as `<path>: <message>`; empty when valid. */
export function validateParamValue(path: string, value: JsonValue, p: Pick<SerializedParam, 'type' | 'enum'> & { schema?: JsonObject }): string[] {
  const validate = compileParamSchema(paramSchema(p));
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${path}${jsonPath(e.instancePath)}: ${describe(e)}`);
}

/** Ajv's `/items/0/name` as `.items[0].name`. */
function jsonPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : /^[A-Za-z_$][\w$]*$/.test(seg) ? `.${seg}` : `[${JSON.stringify(seg)}]`))
    .join('');
}

function describe(e: ErrorObject): string {
  const msg = e.message ?? 'is invalid';
  if (e.keyword === 'enum') return `${msg}: ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'required') return `${msg}`;
  return msg;
}
