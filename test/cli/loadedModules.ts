/**
 * Preloaded with `node --import` by test/cli/startupImports.test.ts: records the URL of every module the process
 * loads and writes them, one per line, to $CAPSTAN_TEST_LOADED_MODULES when the process exits.
 */
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const loaded: string[] = [];
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => {
  const file = process.env['CAPSTAN_TEST_LOADED_MODULES'];
  if (file) writeFileSync(file, loaded.join('\n') + '\n');
});
