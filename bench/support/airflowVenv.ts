/**
 * Apache Airflow 3 from PyPI in a private venv under ~/.cache/capstan-bench/airflow-<version> (never in the repo),
 * for `npm run bench:vs-airflow`. Made once; a stamp file marks a finished install, so a half-made venv is
 * completed on the next call rather than trusted.
 *
 * Airflow is installed against its constraints file when that can be fetched; where it cannot (this machine
 * reaches PyPI only), against {@link PINS}: the versions pip resolved for 3.3.2 on Python 3.11 here on 2026-12-07,
 * with which the bench ran — the packages whose next majors most often break an older Airflow.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_AIRFLOW_VERSION = '3.3.2';

/** Critical dependencies pinned when no constraints file can be fetched (resolved for 3.3.2 on Python 3.11). */
const PINS: Record<string, string[]> = {
  '3.3.2': [
    'apache-airflow-core==3.3.2',
    'apache-airflow-task-sdk==1.3.2',
    'apache-airflow-providers-standard==1.21.0',
    'apache-airflow-providers-postgres==7.1.1',
    'sqlalchemy==2.1.9',
    'alembic==1.20.1',
    'fastapi==0.136.3',
    'starlette==1.10.0',
    'uvicorn==0.55.0',
    'pydantic==2.14.4',
    'cadwyn==7.0.0',
    'psycopg2-binary==2.9.13',
    'structlog==26.1.0',
    'pendulum==3.3.0',
    'httpx==0.29.0',
  ],
};

export interface AirflowVenv {
  dir: string;
  python: string;
  airflow: string;
  version: string;
  /** How its dependencies were pinned. */
  pinnedBy: string;
}

const STAMP = '.capstan-bench-installed';

/** The venv at `dir` if given (used as it is), else the cached one for `version`, installed if not finished yet. */
export async function ensureAirflowVenv(version: string, dir?: string): Promise<AirflowVenv> {
  if (dir) {
    const venv = paths(dir, version, 'an existing venv (not checked)');
    if (!existsSync(venv.airflow)) throw new Error(`no airflow executable in the venv ${dir} (expected ${venv.airflow})`);
    return venv;
  }
  const target = join(homedir(), '.cache', 'capstan-bench', `airflow-${version}`);
  const stamp = join(target, STAMP);
  if (existsSync(stamp)) return paths(target, version, execFileSync('cat', [stamp], { encoding: 'utf8' }).trim());
  mkdirSync(join(target, '..'), { recursive: true });
  const log = (s: string) => process.stderr.write(`[vs-airflow] ${s}\n`);
  if (!existsSync(join(target, 'bin', 'python'))) {
    log(`creating the venv ${target}`);
    run('python3', ['-m', 'venv', target]);
  }
  const python = join(target, 'bin', 'python');
  const pyVersion = execFileSync(python, ['-c', 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")'], { encoding: 'utf8' }).trim();
  run(python, ['-m', 'pip', 'install', '--quiet', '--upgrade', 'pip']);
  const constraintsUrl = `https://raw.githubusercontent.com/apache/airflow/constraints-${version}/constraints-${pyVersion}.txt`;
  let extra: string[];
  let pinnedBy: string;
  const constraints = await fetch(constraintsUrl, { signal: AbortSignal.timeout(10_000) }).then((r) => (r.ok ? r.text() : undefined)).catch(() => undefined);
  if (constraints) {
    const file = join(target, `constraints-${pyVersion}.txt`);
    writeFileSync(file, constraints);
    extra = ['--constraint', file];
    pinnedBy = `Airflow's constraints-${version}/constraints-${pyVersion}.txt`;
  } else {
    const pins = PINS[version];
    if (!pins) throw new Error(`Airflow's constraints file (${constraintsUrl}) cannot be fetched and bench/support/airflowVenv.ts pins nothing for ${version}: add pins for it or use ${DEFAULT_AIRFLOW_VERSION}`);
    extra = pins;
    pinnedBy = `the bench's own pins (${pins.length} packages; the constraints file was unreachable)`;
  }
  log(`pip install apache-airflow[postgres]==${version} (Python ${pyVersion}, ${pinnedBy}); this takes a few minutes the first time`);
  run(python, ['-m', 'pip', 'install', '--quiet', `apache-airflow[postgres]==${version}`, ...extra]);
  const venv = paths(target, version, pinnedBy);
  const got = execFileSync(venv.airflow, ['version'], { encoding: 'utf8', env: { ...process.env, AIRFLOW_HOME: join(target, 'airflow-home') } }).trim().split('\n').pop();
  if (got !== version) throw new Error(`the venv's airflow says it is ${got}, not ${version}`);
  writeFileSync(stamp, `${pinnedBy}\n`);
  return venv;
}

function paths(dir: string, version: string, pinnedBy: string): AirflowVenv {
  return { dir, python: join(dir, 'bin', 'python'), airflow: join(dir, 'bin', 'airflow'), version, pinnedBy };
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-25).join('\n');
    throw new Error(`cannot install Apache Airflow: \`${cmd} ${args.join(' ')}\` exited with ${r.status ?? r.signal ?? r.error?.message}:\n${tail}`);
  }
}
