/**
 * eslint-rules/layers.js: a src/ folder imports only its own folder and lower layers; relative and `#src/`
 * specifiers, static, re-export and dynamic imports; an unknown folder is reported; files outside src/ unchecked.
 */
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RuleTester, type Rule } from 'eslint';
import tseslint from 'typescript-eslint';
// The rule is plain JS (no types): its module is typed here.
const { default: rule } = (await import('../../eslint-rules/layers.js' as string)) as { default: Rule.RuleModule };

// RuleTester reports through the test framework it is given: node:test here.
RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2024, sourceType: 'module' } });
const src = (path: string) => join(process.cwd(), 'src', path);

tester.run('layers', rule, {
  valid: [
    { filename: src('api/server.ts'), code: "import { createStore } from '../store/index.ts';" },
    { filename: src('cli/main.ts'), code: "const { x } = await import('#src/app/index.ts');" },
    { filename: src('store/dags.ts'), code: "import type { SerializedDag } from '../core/index.ts'; import { db } from './db.ts';" },
    { filename: src('index.ts'), code: "export * from './sdk/index.ts';" },
    { filename: src('runtime/workerProcess.ts'), code: "await import('../index.ts');" },
    { filename: src('core/states.ts'), code: "import { z } from 'zod';" },
    { filename: join(process.cwd(), 'test/core/states.test.ts'), code: "import { x } from '../../src/cli/main.ts';" },
  ],
  invalid: [
    { filename: src('store/dags.ts'), code: "import { x } from '../services/index.ts';", errors: [{ messageId: 'upward', data: { from: 'store', to: 'services', fromLayer: 2, toLayer: 5 } }] },
    { filename: src('sdk/dag.ts'), code: "import type { x } from '#src/secrets/index.ts';", errors: [{ messageId: 'upward', data: { from: 'sdk', to: 'secrets', fromLayer: 3, toLayer: 3 } }] },
    { filename: src('core/states.ts'), code: "const m = await import('../store/index.ts');", errors: [{ messageId: 'upward' }] },
    { filename: src('sdk/index.ts'), code: "export * from '../index.ts';", errors: [{ messageId: 'upward', data: { from: 'sdk', to: 'index', fromLayer: 3, toLayer: 5 } }] },
    { filename: src('newFolder/x.ts'), code: "import { x } from '../core/index.ts';", errors: [{ messageId: 'unknown', data: { folder: 'newFolder' } }] },
    { filename: src('core/x.ts'), code: "import { x } from '../newFolder/y.ts';", errors: [{ messageId: 'unknown', data: { folder: 'newFolder' } }] },
  ],
});
