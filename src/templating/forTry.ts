/** Rendering as one step of a try: render, hand the result to be stored, set it on the operator. */
import type { JsonObject } from '../core/index.ts';
import type { BaseOperator } from '../sdk/baseOperator.ts';
import { XComArg } from '../sdk/xcomArg.ts';
import type { TaskContext } from '../sdk/taskContext.ts';
import { applyRenderedFields, renderTemplateFields, templateFieldsOf, type RenderOptions } from './render.ts';

export interface TryTemplating extends RenderOptions {
  /** Receives the rendered fields (as JSON) before `execute`, to store them with the try. */
  onRendered?: (rendered: JsonObject) => Promise<void>;
}

/** Render `op`'s templated fields for this try and set them on it; returns the function that restores the templates. */
export async function renderForTry(op: BaseOperator, ctx: TaskContext, t: TryTemplating): Promise<() => void> {
  if (templateFieldsOf(op).length === 0) return () => undefined;
  const rendered = await renderTemplateFields(op, ctx, t);
  await t.onRendered?.(renderedJson(rendered));
  return applyRenderedFields(op, rendered);
}

/**
 * Rendered fields as stored and shown: JSON (dates as ISO strings, an upstream output as its reference,
 * functions and undefined dropped).
 */
export function renderedJson(rendered: Record<string, unknown>): JsonObject {
  return JSON.parse(JSON.stringify(rendered, (_key, v: unknown) => (v instanceof XComArg ? v.toReference() : v))) as JsonObject;
}
