/**
 * Lint rule `capstan/layers`: the folders of src/ form layers, and a module may import only from folders of
 * a lower layer (or its own folder). Peers of one layer do not import each other, so no import cycle between
 * folders can come back. The table is the architecture: change it deliberately (src/ARCHITECTURE.md explains
 * each layer), not to make an import pass.
 *
 * Checked: static `import`/`export … from` and `import('literal')`, relative or through the `#src/*` alias.
 * Package imports and files outside src/ are not this rule's business.
 */
import { relative, sep } from 'node:path';
import { srcPaths, visitSrcImports } from './srcImports.js';

/** Layer of each top-level folder of src/ (`index` is src/index.ts, the public authoring entry). */
export const LAYERS = {
  core: 0,
  config: 1, crypto: 1, triggers: 1,
  logging: 2, metrics: 2, store: 2,
  sdk: 3, secrets: 3, auth: 3,
  templating: 4, kubernetes: 4,
  index: 5, dagprocessing: 5, services: 5,
  runtime: 6,
  executors: 7,
  scheduler: 8, triggerer: 8,
  api: 9,
  app: 10,
  testing: 11,
  cli: 12,
};

/** The top-level folder of src/ a path lies in (`index` for src/index.ts), or null outside src/. */
function folderOf(srcRoot, path) {
  const rel = relative(srcRoot, path);
  if (rel.startsWith('..') || rel === '') return null;
  const first = rel.split(sep)[0];
  return first.replace(/\.tsx?$/, '');
}

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'problem',
    docs: { description: 'src/ folders import only from lower layers (eslint-rules/layers.js)' },
    schema: [],
    messages: {
      upward: "{{from}}/ (layer {{fromLayer}}) may not import {{to}}/ (layer {{toLayer}}): a lower layer never imports a higher one or a peer. Move the shared type or function down (often to core/), or pass it in.",
      unknown: "src/{{folder}}/ has no layer in eslint-rules/layers.js: add it to LAYERS (and src/ARCHITECTURE.md).",
    },
  },
  create(context) {
    const { file, srcRoot } = srcPaths(context);
    const from = folderOf(srcRoot, file);
    if (from === null) return {};
    const fromLayer = LAYERS[from];
    return visitSrcImports(context, (node, target) => {
      const to = folderOf(srcRoot, target);
      if (to === null || to === from) return;
      if (fromLayer === undefined) return context.report({ node, messageId: 'unknown', data: { folder: from } });
      const toLayer = LAYERS[to];
      if (toLayer === undefined) return context.report({ node, messageId: 'unknown', data: { folder: to } });
      if (toLayer >= fromLayer) context.report({ node, messageId: 'upward', data: { from, to, fromLayer, toLayer } });
    });
  },
};
