/**
 * What the src/ import rules (layers.js, noDeepImports.js) share: the linted file and src/ root, and a visitor
 * that resolves every static `import`/`export … from` and `import('literal')` specifier — relative or through
 * the `#src/*` alias — to the absolute path it names. Package imports are not resolved (not these rules' business).
 */
import { dirname, resolve } from 'node:path';
import { cwd } from 'node:process';

/** The linted file's path and the project's src/ folder. */
export function srcPaths(context) {
  return { file: context.physicalFilename ?? context.filename, srcRoot: resolve(context.cwd ?? cwd(), 'src') };
}

/** ESLint visitors calling `onImport(node, target)` with the absolute path of each relative or `#src/` import. */
export function visitSrcImports(context, onImport) {
  const { file, srcRoot } = srcPaths(context);
  const check = (node, specifier) => {
    if (typeof specifier !== 'string') return;
    if (specifier.startsWith('.')) onImport(node, resolve(dirname(file), specifier));
    else if (specifier.startsWith('#src/')) onImport(node, resolve(srcRoot, specifier.slice('#src/'.length)));
  };
  const fromSource = (node) => node.source && check(node.source, node.source.value);
  return {
    ImportDeclaration: fromSource,
    ExportNamedDeclaration: fromSource,
    ExportAllDeclaration: fromSource,
    ImportExpression(node) {
      if (node.source.type === 'Literal') check(node.source, node.source.value);
    },
  };
}
