/**
 * The committed OpenAPI document and generated client types equal what the routes generate (a route changed
 * without regenerating fails here), every operation is in the permission table with the access it declares,
 * and the document and reference page are served to a signed-in caller only.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROUTE_PERMISSIONS } from '../../../src/api/auth/index.ts';
import { apiSchemaFiles } from '../../../scripts/apiSchemaFiles.ts';
import { V2_PREFIX, V2_ROUTES, v2OpenApiDocument } from '../../../src/api/public/v2/index.ts';
import { startTestEngine, type TestEngine } from '../../support/engine.ts';

const root = join(import.meta.dirname, '..', '..', '..');

describe('API v2 OpenAPI document', () => {
  test('the committed document and client types are current (else run: node scripts/api-schema.ts)', async () => {
    for (const [path, content] of Object.entries(await apiSchemaFiles())) {
      const committed = readFileSync(join(root, path), 'utf8');
      assert.ok(committed === content, `${path} differs from what the routes generate; run: node scripts/api-schema.ts`);
    }
  });

  test('every operation is in the document once, with a unique operationId, and in the permission table', () => {
    const doc = v2OpenApiDocument();
    assert.equal(doc.openapi, '3.1.0');
    const ids = new Set<string>();
    for (const r of V2_ROUTES) {
      assert.ok(!ids.has(r.operationId), `duplicate operationId ${r.operationId}`);
      ids.add(r.operationId);
      const op = (doc.paths?.[r.path] as Record<string, { operationId?: string }> | undefined)?.[r.method];
      assert.equal(op?.operationId, r.operationId, `${r.method} ${r.path} in the document`);
      assert.deepEqual(ROUTE_PERMISSIONS[`${r.method.toUpperCase()} ${V2_PREFIX}${r.honoPath}`], r.access, `${r.operationId} in the permission table`);
    }
  });

  describe('served', () => {
    let t: TestEngine;
    before(async () => {
      t = await startTestEngine({ triggerer: false });
    });
    after(async () => {
      await t.stop();
    });

    test('openapi.json and the reference page need a signed-in caller', async () => {
      for (const p of ['/api/v2/openapi.json', '/api/v2/docs']) {
        const anon = await fetch(`${t.api.url}${p}`);
        assert.equal(anon.status, 401, p);
      }
      const doc = await t.apiFetch('/api/v2/openapi.json');
      assert.equal(doc.status, 200);
      assert.deepEqual(await doc.json(), JSON.parse(JSON.stringify(v2OpenApiDocument())));
    });

    test('the reference page lists operations, parameters and schemas, loads nothing from elsewhere and passes its own CSP', async () => {
      const res = await t.apiFetch('/api/v2/docs');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/=]+'/);
      const html = await res.text();
      for (const r of V2_ROUTES) assert.ok(html.includes(`id="op-${r.operationId}"`), `${r.operationId} listed`);
      assert.ok(html.includes('<code>limit</code>') && html.includes('id="schema-Dag"'), 'parameters and schemas shown');
      assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'no script and no external resource');
      // The inline style's hash is the one the policy allows.
      const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
      const { createHash } = await import('node:crypto');
      assert.ok(csp.includes(`'sha256-${createHash('sha256').update(style).digest('base64')}'`), 'the style hash matches');
    });
  });
});
