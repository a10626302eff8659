/**
 * The `config` part of chart/values.schema.json, derived from Capstan's option table (src/config/defaults.ts):
 * one object per section and one property per key, `additionalProperties: false` at both levels, so a key
 * `capstan config list` does not know is refused by `helm install` as it would be by Capstan itself.
 *
 *   node scripts/chart-config-schema.ts          rewrite chart/values.schema.json's `config` property
 *   node scripts/chart-config-schema.ts --check  exit 1 when the file is out of date
 *
 * test/chart/schema.test.ts runs the check, so a new option without a schema update fails the tests.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SECTION_NAMES, keysOf, optionSpec, type OptionKind } from '../src/config/defaults.ts';

/** JSON-schema fragment of one option kind, as a YAML value in capstan.yaml may give it. */
function kindSchema(kind: OptionKind): Record<string, unknown> {
  switch (kind.type) {
    case 'string':
      return kind.nonEmpty ? { type: 'string', minLength: 1 } : { type: 'string' };
    case 'path':
    case 'databaseUrl':
    case 'fernetKey':
    case 'secretKey':
      return { type: 'string' };
    case 'httpUrl':
      return { type: 'string', pattern: '^https?://' };
    case 'integer':
      return { type: 'integer', minimum: kind.min, ...(kind.max === undefined ? {} : { maximum: kind.max }) };
    case 'boolean':
      return { type: 'boolean' };
    case 'duration':
      // Milliseconds, or text such as '30s' / '5m' that Capstan parses.
      return { type: ['integer', 'string'] };
    case 'enum':
      return { enum: [...kind.values] };
  }
}

/** The schema of `.Values.config`. */
export function configSchema(): Record<string, unknown> {
  const sections: Record<string, unknown> = {};
  for (const section of SECTION_NAMES) {
    const properties: Record<string, unknown> = {};
    for (const key of keysOf(section)) {
      const spec = optionSpec(section, key);
      if (spec) properties[key] = { description: spec.doc, ...kindSchema(spec.kind) };
    }
    sections[section] = { type: 'object', additionalProperties: false, properties };
  }
  return {
    description: 'Capstan configuration rendered into capstan.yaml (sections and keys of `capstan config list`)',
    type: 'object',
    additionalProperties: false,
    properties: sections,
  };
}

export const SCHEMA_FILE = fileURLToPath(new URL('../chart/values.schema.json', import.meta.url));

/** The schema file's text with `properties.config` replaced by {@link configSchema}. */
export function schemaWithConfig(text: string): string {
  const schema = JSON.parse(text) as { properties: Record<string, unknown> };
  schema.properties['config'] = configSchema();
  return JSON.stringify(schema, null, 2) + '\n';
}

if (import.meta.main) {
  const current = readFileSync(SCHEMA_FILE, 'utf8');
  const wanted = schemaWithConfig(current);
  if (process.argv.includes('--check')) {
    if (current !== wanted) {
      process.stderr.write('chart/values.schema.json is out of date: run node scripts/chart-config-schema.ts\n');
      process.exit(1);
    }
  } else {
    writeFileSync(SCHEMA_FILE, wanted);
  }
}
