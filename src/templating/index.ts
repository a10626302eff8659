/** Jinja-style templates over operators' templated fields, rendered with Nunjucks (docs/templating.md). */
export { applyRenderedFields, renderTemplateFields, templateFieldsOf, TemplateRenderError, type RenderOptions } from './render.ts';
export { buildTemplateContext } from './context.ts';
export { shellQuote } from './shellQuote.ts';
export { dsAdd, dsFormat } from './macros.ts';
export { strftime, strptime, TemplateDate } from './dates.ts';
export { renderForTry, renderedJson, type TryTemplating } from './forTry.ts';
