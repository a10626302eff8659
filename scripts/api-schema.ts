/**
 * Writes the API v2's OpenAPI document (docs/api/openapi.json) and the TypeScript types generated from it
 * by openapi-typescript (src/api/public/v2/client/schema.d.ts for the server's tests and the remote CLI,
 * ui/src/api/schema.d.ts for the web UI's openapi-fetch client). test/api/v2/openapiDocument.test.ts fails
 * when any of them differs from what the routes generate.
 *
 *   node scripts/api-schema.ts          # rewrite the three files
 *   node scripts/api-schema.ts --check  # exit 1 and name the stale files
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { apiSchemaFiles } from './apiSchemaFiles.ts';

const root = join(import.meta.dirname, '..');
const check = process.argv.includes('--check');
const stale: string[] = [];
for (const [path, content] of Object.entries(await apiSchemaFiles())) {
  const file = join(root, path);
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  stale.push(path);
  if (!check) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}
if (check && stale.length > 0) {
  process.stderr.write(`stale: ${stale.join(', ')}; run: node scripts/api-schema.ts\n`);
  process.exit(1);
}
process.stdout.write(stale.length === 0 ? 'API schema files are up to date\n' : `${check ? 'stale' : 'wrote'}: ${stale.join(', ')}\n`);
