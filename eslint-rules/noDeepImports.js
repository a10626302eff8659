/**
 * Lint rule `capstan/no-deep-imports` (issue 13 §3): each top-level folder of src/ is used by the others only
 * through its entry points — its `index.ts`, plus the few light entry points declared for it in
 * {@link ENTRY_POINTS} — never by reaching into its internal modules. Inside a folder, modules import their
 * siblings directly (a module importing its own folder's index would make an import cycle).
 *
 * src/index.ts (the public authoring entry) and every other top-level file of src/ count as a folder of their
 * own. Checked: static `import`/`export … from` and `import('literal')`, relative or through the `#src/*`
 * alias. Package imports and files outside src/ are not this rule's business.
 */
import { relative, resolve, sep } from 'node:path';
import { srcPaths, visitSrcImports } from './srcImports.js';

/**
 * Entry points besides `index.ts`, by folder, as paths inside the folder. Each is a light subset that a light
 * path (the task runtime, a CLI start) must load without the whole folder; say why beside it. Extend it
 * deliberately, not to make an import pass.
 */
export const ENTRY_POINTS = {
  // Pods without @kubernetes/client-node (builders, names, merge, mutation hook, pod state/end, pods/log) for the
  // DAG processor, the API and a LocalExecutor scheduler; the operators for DAG files (src/index.ts). See
  // src/kubernetes/ARCHITECTURE.md, "Entry points".
  kubernetes: ['pods.ts', 'operators.ts'],
  // The DAG-file loader alone for the task, callback and worker processes: they import DAG files, never the
  // processor (and its store and pod-warning modules).
  dagprocessing: ['loader.ts'],
  // createEngine without the role processes (API server, executors, DAG processor) for `dags test`, `tasks test`
  // and renders; the start-time deployment check the CLI runs before a role loads (src/app/index.ts).
  app: ['components.ts', 'deploymentChecks.ts'],
  // The v2 client and the JSON views of store rows for the CLI, without the server, Hono or zod.
  api: ['client.ts'],
  // The KubernetesExecutor (loads @kubernetes/client-node: imported lazily, only when core.executor names it, and
  // by the CLI's pod cleanup); the worker-pod readers and YAML without the executor or the client, for the API,
  // the roles and the CLI.
  executors: ['kubernetes/index.ts', 'kubernetes/workerPods.ts'],
  // Per-try task logs without pino, config or the object-store handler, for the task runtime, the Execution API,
  // the worker-pod log readers, the triggerer and capstan/testing.
  logging: ['taskLogs.ts'],
};

/** The top-level folder of src/ a path lies in (a top-level file is its own folder), or null outside src/. */
function folderOf(srcRoot, path) {
  const rel = relative(srcRoot, path);
  if (rel === '' || rel.startsWith('..')) return null;
  return rel.split(sep)[0];
}

/** The entry points of `folder`, as paths inside it. */
const entryPointsOf = (folder) => ['index.ts', ...(ENTRY_POINTS[folder] ?? [])];

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'problem',
    docs: { description: 'src/ folders import each other only through their entry points (eslint-rules/noDeepImports.js)' },
    schema: [],
    messages: {
      deep: "Import src/{{to}}/ through its entry points ({{entries}}), not {{to}}/{{path}}: a folder's other modules are its internals. Export what you need from src/{{to}}/index.ts (or declare a light entry point in ENTRY_POINTS of eslint-rules/noDeepImports.js).",
    },
  },
  create(context) {
    const { file, srcRoot } = srcPaths(context);
    const from = folderOf(srcRoot, file);
    if (from === null) return {};
    return visitSrcImports(context, (node, target) => {
      const to = folderOf(srcRoot, target);
      if (to === null || to === from) return;
      const path = relative(resolve(srcRoot, to), target).split(sep).join('/');
      if (path === '') return; // a top-level file of src/ (its own folder): it is its own entry
      const entries = entryPointsOf(to);
      if (entries.includes(path)) return;
      context.report({ node, messageId: 'deep', data: { to, path, entries: entries.map((e) => `${to}/${e}`).join(', ') } });
    });
  },
};
