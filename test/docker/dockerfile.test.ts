/**
 * docker/Dockerfile, the Capstan image of every role and of worker pods, read as text: its stages, base image,
 * entrypoint and paths against the worker pod contract (`capstan tasks run --ti-id <id> --api-url <url>` with
 * CAPSTAN_TASK_TOKEN), the build context its .dockerignore lets through, the production dependencies the
 * sources import, and the image's `capstan` wrapper run for real against this checkout. The image itself is
 * built (scripts/image.sh) and run in containers by test/image/appImage.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { workerCommand } from '../../src/executors/kubernetes/workerPod.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCKERFILE = join(ROOT, 'docker/Dockerfile');
const WRAPPER = join(ROOT, 'docker/capstan');

interface Instruction { op: string; args: string }
interface Stage { name: string; from: string; instructions: Instruction[] }

/** Dockerfile → stages of instructions (comments dropped, `\` continuations joined). */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const logical = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    const [op = '', ...rest] = line.split(/\s+/);
    const instruction = { op: op.toUpperCase(), args: rest.join(' ') };
    if (instruction.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      assert.ok(m, `FROM ${instruction.args}`);
      stages.push({ from: m[1] ?? '', name: m[2] ?? String(stages.length), instructions: [] });
    } else if (stages.length === 0 && instruction.op === 'ARG') {
      const [k = '', v = ''] = instruction.args.split('=');
      args.set(k, v);
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { args, stages };
}

const expand = (s: string, vars: Map<string, string>): string => s.replace(/\$\{(\w+)\}/g, (_, k: string) => vars.get(k) ?? '');
const env = (stage: Stage): Map<string, string> => {
  const out = new Map<string, string>();
  for (const i of stage.instructions.filter((x) => x.op === 'ENV')) {
    for (const m of i.args.matchAll(/(\w+)=(\S+)/g)) out.set(m[1] ?? '', m[2] ?? '');
  }
  return out;
};
const copies = (stage: Stage) => stage.instructions.filter((i) => i.op === 'COPY').map((i) => {
  const words = i.args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  return { from: flags.find((f) => f.startsWith('--from='))?.slice(7), sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' };
});

/** True when the BuildKit ignore file (`*` then `!` re-includes) lets `path` into the build context. */
function inContext(ignore: string[], path: string): boolean {
  let included = true;
  for (const rule of ignore) {
    const negated = rule.startsWith('!');
    const pattern = (negated ? rule.slice(1) : rule).replace(/\/$/, '');
    const body = pattern.replace(/[.+^$()|[\]]/g, '\\$&').replace(/\*\*\//g, '@@ANY@@').replace(/\*/g, '[^/]*').replace(/@@ANY@@/g, '(?:.*/)?');
    const re = new RegExp(`^${body}(?:/.*)?$`);
    if (re.test(path)) included = negated;
  }
  return included;
}

function run(args: string[], extraEnv: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CAPSTAN')));
  // `node` on PATH is this Node 24, as in the image.
  const path = `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`;
  return new Promise((resolve) => {
    execFile('sh', [WRAPPER, ...args], { env: { ...base, PATH: path, ...extraEnv } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
  });
}

describe('the Capstan image recipe (docker/Dockerfile)', () => {
  const { args, stages } = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
  const byName = new Map(stages.map((s) => [s.name, s]));
  const runtime = byName.get('runtime');
  const app = byName.get('app');
  const ignore = readFileSync(`${DOCKERFILE}.dockerignore`, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

  test('stages: deps, ui → runtime (DAGs mounted) → app (DAGs baked in, the default target), on Node 24', () => {
    assert.deepEqual(stages.map((s) => s.name), ['deps', 'ui', 'runtime', 'app']);
    assert.match(expand(byName.get('deps')?.from ?? '', args), /^node:24[.-]/);
    assert.equal(expand(runtime?.from ?? '', args), expand(byName.get('deps')?.from ?? '', args));
    assert.equal(expand(byName.get('ui')?.from ?? '', args), expand(byName.get('deps')?.from ?? '', args));
    assert.equal(app?.from, 'runtime');
    assert.ok(copies(runtime as Stage).some((c) => c.from === 'ui' && c.dest === './ui/dist'), 'the built UI is copied where the API server serves it from');
    const cleanup = runtime?.instructions.find((i) => i.op === 'RUN')?.args ?? '';
    assert.match(cleanup, /rm -rf \/usr\/local\/lib\/node_modules \/usr\/local\/bin\/npm \/usr\/local\/bin\/npx/, 'no npm at run time');
    const install = byName.get('deps')?.instructions.find((i) => i.op === 'RUN')?.args ?? '';
    assert.match(install, /npm ci --omit=dev/);
  });

  test('the entrypoint is capstan, the wrapper runs the app the image copies, as a non-root user', () => {
    assert.equal(runtime?.instructions.find((i) => i.op === 'ENTRYPOINT')?.args, '["capstan"]');
    assert.equal(runtime?.instructions.find((i) => i.op === 'USER')?.args, 'node');
    const appDir = env(runtime as Stage).get('CAPSTAN_APP_DIR');
    assert.equal(runtime?.instructions.find((i) => i.op === 'WORKDIR')?.args, appDir);
    const copied = copies(runtime as Stage);
    assert.ok(copied.some((c) => c.sources.includes('src') && c.dest === './src'));
    assert.ok(copied.some((c) => c.sources.includes('docker/capstan') && c.dest === '/usr/local/bin/capstan'));
    assert.match(readFileSync(WRAPPER, 'utf8'), /exec node "\$\{CAPSTAN_APP_DIR:-\/opt\/capstan\}\/src\/cli\/main\.ts" "\$@"/);
    assert.ok(existsSync(join(ROOT, 'src/cli/main.ts')));
  });

  test('DAG files land where the image tells Capstan its DAGs folder is', () => {
    const dagsFolder = env(runtime as Stage).get('CAPSTAN__CORE__DAGS_FOLDER');
    const dagCopy = copies(app as Stage).find((c) => c.sources.includes('${DAGS_DIR}'));
    assert.equal(dagCopy?.dest, dagsFolder);
    const dagsDir = app?.instructions.find((i) => i.op === 'ARG' && i.args.startsWith('DAGS_DIR='))?.args.split('=')[1] ?? '';
    assert.ok(statSync(join(ROOT, dagsDir)).isDirectory(), `default DAGS_DIR ${dagsDir} exists`);
    assert.ok(inContext(ignore, dagsDir), 'the default DAGs folder is in the build context');
  });

  test('every file the image copies is in the build context, and tests are not', () => {
    for (const stage of stages) {
      for (const c of copies(stage).filter((x) => x.from === undefined)) {
        for (const source of c.sources.filter((s) => !s.includes('$'))) {
          assert.ok(existsSync(join(ROOT, source)), `${source} exists`);
          assert.ok(inContext(ignore, source), `${source} is not excluded by the .dockerignore`);
        }
      }
    }
    assert.ok(inContext(ignore, 'src/cli/main.ts'));
    assert.ok(!inContext(ignore, 'src/cli/x.test.ts'));
    assert.ok(!inContext(ignore, 'test/kubernetes/cluster/localKubelet.test.ts'));
    assert.ok(!inContext(ignore, 'node_modules/kysely/package.json'));
  });

  test('every package the sources import at run time is a production dependency (npm ci --omit=dev installs it)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
    const missing = new Set<string>();
    for (const file of walk(join(ROOT, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'";]*?from\s+'([^'./][^']*)'/gm)) {
        const spec = m[1] ?? '';
        if (spec.startsWith('node:') || spec === 'capstan' || spec.startsWith('capstan/')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0] ?? spec;
        if (!(name in pkg.dependencies)) missing.add(`${name} (${relative(ROOT, file)})`);
      }
    }
    assert.deepEqual([...missing], []);
  });

  test('the image command runs the worker contract: `capstan tasks run` with the executor\'s arguments', async () => {
    const help = await run(['tasks', 'run', '--help'], { CAPSTAN_APP_DIR: ROOT });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /--ti-id <id>/);
    assert.match(help.stdout, /--api-url <url>/);
    // Exactly the pod's command, minus the token: refused, naming the variable the pod must carry.
    const [, ...argv] = workerCommand('0191-ti', 'http://capstan-api:8080');
    const noToken = await run(argv, { CAPSTAN_APP_DIR: ROOT, CAPSTAN_HOME: join(ROOT, '.capstan-test-nonexistent') });
    assert.notEqual(noToken.code, 0);
    assert.match(noToken.stderr, /CAPSTAN_TASK_TOKEN/);
  });
});
