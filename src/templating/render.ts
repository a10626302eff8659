/**
 * Rendering an operator's templated fields (its class's `templateFields`) with Nunjucks, in the task's
 * process just before `execute`. Strings are rendered; arrays and plain objects are walked recursively
 * (keys are not rendered); other values pass through. A string that ends with one of the operator's
 * `templateExt` extensions names a template file, read from the DAG file's folder (and the DAG's
 * `templateSearchPath`) and rendered, as Airflow's `template_ext` does.
 *
 * Environment settings, and why:
 * - `autoescape: false`: the output is a shell command, SQL or YAML, never HTML; escaping `&` or `<`
 *   would corrupt it (Airflow's default too).
 * - `throwOnUndefined: true`: printing an undefined (or null) value is an error naming the field and the
 *   expression, never a silently empty string (Airflow users get this with StrictUndefined).
 * - `FileSystemLoader` over the template folders with `noCache`: it refuses names that escape those
 *   folders, and a task process renders once, so caching would only serve stale files to `dags test`.
 */
import { dirname } from 'node:path';
import nunjucks from 'nunjucks';
import { CapstanError } from '../core/index.ts';
import type { BaseOperator } from '../sdk/baseOperator.ts';
import type { TaskContext } from '../sdk/taskContext.ts';
import { buildTemplateContext } from './context.ts';
import { NeedsLookups, TemplateLookups } from './lookups.ts';
import { shellQuote } from './shellQuote.ts';

/** A template that could not be rendered: names the task, the field path and the template. */
export class TemplateRenderError extends CapstanError {
  readonly field: string;
  readonly template: string;

  constructor(op: BaseOperator, field: string, template: string, detail: string) {
    super('task_failed', `task '${op.taskId}' in DAG '${op.dag.dagId}': cannot render field ${field}: ${detail}; template: ${JSON.stringify(template)}`, {
      hint: 'values that may be missing can be given a fallback: {{ x or "default" }}, {{ var.value.get("name", "default") }}',
    });
    this.name = 'TemplateRenderError';
    this.field = field;
    this.template = template;
  }
}

/** Bound on re-rendering for lookups (see lookups.ts). */
const MAX_RENDER_PASSES = 200;

export interface RenderOptions {
  /** The DAG file: its folder holds the template files. */
  fileloc?: string;
  /** Clock for `macros.datetime.utcnow()`. Default `Date.now`. */
  now?: () => number;
}

/** The templated field names of an operator (its class's `templateFields`). */
export function templateFieldsOf(op: BaseOperator): readonly string[] {
  return (op.constructor as { templateFields?: readonly string[] }).templateFields ?? [];
}

function templateExtOf(op: BaseOperator): readonly string[] {
  return (op.constructor as { templateExt?: readonly string[] }).templateExt ?? [];
}

/** The Nunjucks environment for `op`'s DAG: template folders, the built-in `shquote` filter, and the DAG's user-defined filters. */
export function templateEnvironment(op: BaseOperator, o: RenderOptions): nunjucks.Environment {
  const folders = [...(o.fileloc ? [dirname(o.fileloc)] : []), ...op.dag.templateSearchPath];
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(folders, { noCache: true }), { autoescape: false, throwOnUndefined: true });
  env.addFilter('shquote', shellQuote);
  for (const [name, fn] of Object.entries(op.dag.userDefinedFilters)) env.addFilter(name, fn);
  return env;
}

/**
 * Render every templated field of `op` for this try. Returns field name → rendered value; the operator
 * itself is not changed (see `applyRenderedFields`).
 */
export async function renderTemplateFields(op: BaseOperator, ctx: TaskContext, o: RenderOptions = {}): Promise<Record<string, unknown>> {
  const fields = templateFieldsOf(op);
  if (fields.length === 0) return {};
  const env = templateEnvironment(op, o);
  const exts = templateExtOf(op);
  const lookups = new TemplateLookups({
    getVariable: (k) => ctx.getVariable(k),
    getConnection: (id) => ctx.getConnection(id),
    xcomPull: (t, k, i) => ctx.xcomPull(t, k, i),
  });
  const context = buildTemplateContext(op, ctx, lookups, o.now ?? Date.now);
  for (let pass = 1; ; pass++) {
    // Each pass fetches at least one new value; only a template that asks for a new one every time
    // (a variable named by macros.uuid…) could go on, and is stopped.
    if (pass > MAX_RENDER_PASSES) {
      throw new TemplateRenderError(op, fields.join(', '), '', `still asking for new variables, connections or XComs after ${MAX_RENDER_PASSES} passes`);
    }
    const out: Record<string, unknown> = {};
    let pending = false;
    for (const field of fields) {
      try {
        out[field] = renderValue((op as unknown as Record<string, unknown>)[field], field, (template, path) => renderString(env, exts, template, context, lookups, op, path));
      } catch (err) {
        if (!(err instanceof NeedsLookups)) throw err;
        pending = true;
      }
    }
    if (!pending) return out;
    await lookups.fetchPending();
  }
}

/** Render every string in `value`, recursively through arrays and plain objects. */
function renderValue(value: unknown, path: string, render: (template: string, path: string) => string): unknown {
  if (typeof value === 'string') return render(value, path);
  if (Array.isArray(value)) return value.map((v, i) => renderValue(v, `${path}[${i}]`, render));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`, render)]));
  }
  return value;
}

function renderString(env: nunjucks.Environment, exts: readonly string[], template: string, context: object, lookups: TemplateLookups, op: BaseOperator, path: string): string {
  const isFile = exts.some((ext) => template.endsWith(ext));
  try {
    return isFile ? env.render(template, context) : env.renderString(template, context);
  } catch (err) {
    if (lookups.hasPending) throw new NeedsLookups();
    throw new TemplateRenderError(op, path, template, describeError(err, isFile ? null : template));
  }
}

/** Nunjucks' message without its path prefix, and for an undefined value the expression that printed it. */
function describeError(err: unknown, template: string | null): string {
  const raw = err instanceof Error ? err.message : String(err);
  const m = /^\(([^)]*)\)(?: \[Line (\d+), Column (\d+)\])?\s*\n?\s*([\s\S]*)$/.exec(raw);
  const message = (m?.[4] ?? raw).replace(/^Error: /, '').trim();
  const line = Number(m?.[2] ?? 0);
  const column = Number(m?.[3] ?? 0);
  const where = line > 0 ? ` (line ${line}, column ${column})` : '';
  if (/attempted to output null or undefined value/.test(message)) {
    const expr = template !== null && line > 0 ? expressionAt(template, line, column) : null;
    return `undefined value${expr ? ` '${expr}'` : ''}${where}`;
  }
  return `${message}${where}`;
}

/** The `{{ … }}` expression around a 1-based line/column of `template`. */
function expressionAt(template: string, line: number, column: number): string | null {
  const lines = template.split('\n');
  const offset = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + column - 1;
  const start = template.lastIndexOf('{{', offset);
  const end = template.indexOf('}}', start);
  if (start < 0 || end < 0 || end + 2 < offset) return null;
  return template.slice(start + 2, end).trim();
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Set the rendered values on the operator for the duration of the try (as Airflow renders a task's
 * attributes in place), returning a function that puts the templates back: the same operator object
 * runs again for the next try of `dags test`, which must render the templates, not last try's output.
 */
export function applyRenderedFields(op: BaseOperator, rendered: Record<string, unknown>): () => void {
  const target = op as unknown as Record<string, unknown>;
  const originals = Object.fromEntries(Object.keys(rendered).map((k) => [k, target[k]]));
  Object.assign(target, rendered);
  return () => Object.assign(target, originals);
}
