/**
 * The browsable API reference (`GET /api/v2/docs`): the OpenAPI document rendered on the server with
 * Nunjucks (autoescaped) into plain HTML — operations by tag, their parameters, bodies, responses and the
 * schemas. Nothing is loaded from elsewhere and no script runs; the one inline style is allowed by its
 * hash in the page's own Content-Security-Policy.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'hono';
import nunjucks from 'nunjucks';
import type { OpenApiDocument } from './document.ts';

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem 2rem;color:#1b1f24;background:#fff}
@media (prefers-color-scheme:dark){body{color:#e6e6e6;background:#15171a}a{color:#8ab4f8}table,th,td{border-color:#444}}
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{overflow:auto;max-height:28rem;padding:.5rem;border:1px solid #8884}
article{border-top:1px solid #8884;padding:.5rem 0}table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
caption{text-align:left;font-weight:600}.method{display:inline-block;min-width:4.5rem;font-family:ui-monospace,monospace;font-weight:700}
.m-get{color:#0a6e31}.m-post{color:#0550ae}.m-patch,.m-put{color:#8a4b00}.m-delete{color:#b00020}nav ul{columns:3;list-style:none;padding:0}`;
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');
const CSP = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`;

const env = new nunjucks.Environment(null, { autoescape: true, throwOnUndefined: false });
const template = nunjucks.compile(readFileSync(join(import.meta.dirname, 'reference.njk'), 'utf8'), env);

interface ParameterView {
  name: string;
  in: string;
  type: string;
  required: boolean;
  description: string;
}

let cached: string | undefined;

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** The page for `doc` (rendered once per process: the document does not change while it runs). */
export function referencePage(c: Context, doc: OpenApiDocument): Response {
  cached ??= render(doc);
  return c.html(cached, 200, { 'content-security-policy': CSP });
}

function render(doc: OpenApiDocument): string {
  const groups = new Map<string, unknown[]>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    // A path item's own `servers` (the /auth operations: the server root) is not an operation.
    const atRoot = item.servers !== undefined;
    for (const [method, op] of Object.entries(item as Record<string, Record<string, unknown>>)) {
      if (!HTTP_METHODS.has(method)) continue;
      const tag = ((op['tags'] as string[] | undefined) ?? ['Other'])[0] ?? 'Other';
      const body = (op['requestBody'] as { required?: boolean; content?: Record<string, { schema?: unknown }> } | undefined) ?? undefined;
      const responses = Object.entries((op['responses'] as Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>) ?? {}).map(([status, r]) => {
        const schema = r.content ? Object.values(r.content)[0]?.schema : undefined;
        return { status, description: r.description ?? '', schema: schema === undefined ? '' : pretty(schema) };
      });
      const view = {
        method,
        path,
        atRoot,
        operationId: op['operationId'],
        summary: op['summary'] ?? '',
        description: op['description'] ?? '',
        parameters: ((op['parameters'] as Array<Record<string, unknown>> | undefined) ?? []).map(parameterView),
        body: body?.content ? pretty(Object.values(body.content)[0]?.schema) : '',
        bodyRequired: body?.required === true,
        responses,
      };
      groups.set(tag, [...(groups.get(tag) ?? []), view]);
    }
  }
  const schemas = Object.entries(doc.components?.schemas ?? {}).map(([name, s]) => ({ name, json: pretty(s) }));
  return template.render({ info: doc.info, openapi: doc.openapi, style: STYLE, groups: [...groups].map(([tag, operations]) => ({ tag, operations })), schemas });
}

function parameterView(p: Record<string, unknown>): ParameterView {
  const schema = (p['schema'] ?? {}) as Record<string, unknown>;
  const type = schema['enum'] ? (schema['enum'] as unknown[]).map(String).join(' | ') : schema['type'] === 'array' ? `${String((schema['items'] as Record<string, unknown> | undefined)?.['type'] ?? 'any')}[] (repeat the parameter)` : String(schema['type'] ?? schema['format'] ?? 'any');
  const limits = [schema['minimum'] === undefined ? '' : `≥ ${String(schema['minimum'])}`, schema['maximum'] === undefined ? '' : `≤ ${String(schema['maximum'])}`, schema['default'] === undefined ? '' : `default ${JSON.stringify(schema['default'])}`].filter((s) => s !== '');
  return { name: String(p['name']), in: String(p['in']), type, required: p['required'] === true, description: [String(p['description'] ?? schema['description'] ?? ''), limits.join(', ')].filter((s) => s !== '').join(' — ') };
}

function pretty(v: unknown): string {
  return JSON.stringify(v, null, 2);
}
