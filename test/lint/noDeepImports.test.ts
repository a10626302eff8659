/**
 * eslint-rules/noDeepImports.js: a src/ folder imports another only through its index.ts or a declared entry
 * point; relative and `#src/` specifiers, static, re-export and dynamic imports; files outside src/ unchecked.
 */
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RuleTester, type Rule } from 'eslint';
import tseslint from 'typescript-eslint';
// The rule is plain JS (no types): its module is typed here.
const { default: rule, ENTRY_POINTS } = (await import('../../eslint-rules/noDeepImports.js' as string)) as { default: Rule.RuleModule; ENTRY_POINTS: Record<string, string[]> };

// RuleTester reports through the test framework it is given: node:test here.
RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2024, sourceType: 'module' } });
const src = (path: string) => join(process.cwd(), 'src', path);
const entries = (folder: string) => ['index.ts', ...(ENTRY_POINTS[folder] ?? [])].map((e) => `${folder}/${e}`).join(', ');
const deep = (to: string, path: string) => ({
  message: `Import src/${to}/ through its entry points (${entries(to)}), not ${to}/${path}: a folder's other modules are its internals. Export what you need from src/${to}/index.ts (or declare a light entry point in ENTRY_POINTS of eslint-rules/noDeepImports.js).`,
});

tester.run('no-deep-imports', rule, {
  valid: [
    { filename: src('api/server.ts'), code: "import { createStore } from '../store/index.ts';" },
    { filename: src('api/public/v2/routes/dags.ts'), code: "import type { DagRow } from '../../../../store/index.ts';" },
    { filename: src('api/server.ts'), code: "import { health } from './health.ts'; import { body } from './http/body.ts';" },
    { filename: src('cli/main.ts'), code: "const { x } = await import('#src/store/index.ts');" },
    { filename: src('cli/main.ts'), code: "export * from '../core/index.ts';" },
    { filename: src('index.ts'), code: "export * from './sdk/index.ts';" },
    { filename: src('runtime/workerProcess.ts'), code: "await import('../index.ts');" },
    { filename: src('cli/main.ts'), code: "import { Command } from 'commander'; import { join } from 'node:path';" },
    { filename: join(process.cwd(), 'test/store/dags.test.ts'), code: "import { getDag } from '../../src/store/dags.ts';" },
    { filename: join(process.cwd(), 'bench/cli.bench.ts'), code: "import { getDag } from '#src/store/dags.ts';" },
    { filename: src('cli/main.ts'), code: 'const m = await import(name);' },
  ],
  invalid: [
    { filename: src('api/server.ts'), code: "import { getDag } from '../store/dags.ts';", errors: [deep('store', 'dags.ts')] },
    { filename: src('api/server.ts'), code: "import type { Fernet } from '../crypto/fernet.ts';", errors: [deep('crypto', 'fernet.ts')] },
    { filename: src('cli/commands/dags.ts'), code: "const { markDagRun } = await import('../../services/mark.ts');", errors: [deep('services', 'mark.ts')] },
    { filename: src('cli/commands/dags.ts'), code: "import { dagJson } from '#src/api/views.ts';", errors: [deep('api', 'views.ts')] },
    { filename: src('app/roles.ts'), code: "export { createLogger } from '../logging/logger.ts';", errors: [deep('logging', 'logger.ts')] },
    { filename: src('app/roles.ts'), code: "export * from '../store/transitions/index.ts';", errors: [deep('store', 'transitions/index.ts')] },
    { filename: src('index.ts'), code: "export { FileTrigger } from './triggers/file.ts';", errors: [deep('triggers', 'file.ts')] },
    { filename: src('api/public/v2/deps.ts'), code: "import { x } from '../../../executors/kubernetes/tryPods.ts';", errors: [deep('executors', 'kubernetes/tryPods.ts')] },
  ],
});
