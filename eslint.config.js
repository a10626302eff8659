// Lint rules that catch real bugs: floating promises, misused promises, unused code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import noStateWrites from './eslint-rules/noStateWrites.js';
import layers from './eslint-rules/layers.js';
import noDeepImports from './eslint-rules/noDeepImports.js';

export default tseslint.config(
  { ignores: ['node_modules/**', 'docs/**', 'deploy/**', 'k8s/**', 'test/sdk/fixtures/**', 'ui/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // One owner for state changes: the transition verbs (see eslint-rules/noStateWrites.js).
    files: ['src/**/*.ts', 'bench/**/*.ts'],
    ignores: ['src/store/transitions/**'],
    plugins: { capstan: { rules: { 'no-state-writes': noStateWrites } } },
    rules: { 'capstan/no-state-writes': 'error' },
  },
  {
    // Folders of src/ import only from lower layers: no import cycle between folders (eslint-rules/layers.js).
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    plugins: { 'capstan-layers': { rules: { layers } } },
    rules: { 'capstan-layers/layers': 'error' },
  },
  {
    // Folders of src/ use each other through their entry points, index.ts or a declared light one (eslint-rules/noDeepImports.js).
    // Off until the remaining deep imports are rewritten (issue 13 §3; `node_modules/.bin/eslint src --rule 'capstan-entry/no-deep-imports: error'` lists them).
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    plugins: { 'capstan-entry': { rules: { 'no-deep-imports': noDeepImports } } },
    rules: { 'capstan-entry/no-deep-imports': 'off' },
  },
  {
    // SQL lives in the store: everything else reaches the database through src/store/index.ts (the Store).
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    ignores: ['src/store/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['kysely', 'kysely/*'], message: 'Queries live in src/store/; use the Store (src/store/index.ts).' }] }],
    },
  },
  {
    // The web UI has two TypeScript projects (browser code and its Vite config), neither under the root's.
    files: ['ui/**/*.ts', 'ui/**/*.tsx'],
    languageOptions: { parserOptions: { projectService: false, project: ['ui/tsconfig.json', 'ui/tsconfig.node.json'], tsconfigRootDir: import.meta.dirname } },
  },
);
