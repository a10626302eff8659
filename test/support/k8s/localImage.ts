// What the local kubelet (localKubelet.ts, podSandbox.ts) knows of a container image: its config (ENTRYPOINT,
// CMD, ENV, WORKDIR, USER) and its files as folders laid over the machine's own filesystem. The Capstan app image
// is read from docker/Dockerfile itself — the runtime stage's ENV, ENTRYPOINT, CMD, WORKDIR and USER — and its
// files are this checkout (`/opt/capstan/src`, `node_modules`, `package.json` link to it), the DAG folder the
// test gives (as `docker build --build-arg DAGS_DIR=…` bakes one in), `/usr/local/bin/capstan` (docker/capstan)
// and `/usr/local/bin/node` (the Node running the tests).
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A container image as the local kubelet runs it. */
export interface LocalImage {
  /** ENTRYPOINT: used when the container gives no `command`. */
  entrypoint: readonly string[];
  /** CMD: used when the container gives neither `command` nor `args`. */
  cmd: readonly string[];
  /** ENV of the image, under the container's own env. */
  env: Readonly<Record<string, string>>;
  /** WORKDIR. */
  workingDir: string;
  /** USER as numbers: used when the pod's securityContext does not say. */
  user: { uid: number; gid: number };
  /** HOME of the user. */
  home: string;
  /** The image's files: container folder → host folder laid over it (the machine's own files stay visible beneath). */
  layers: Readonly<Record<string, string>>;
}

/** Picks the image description for a container's `image`; undefined: the kubelet refuses to run it. */
export type LocalImageResolver = (image: string) => LocalImage | undefined;

/** Options of {@link capstanAppImage}. */
export interface CapstanAppImageOptions {
  /** Folder the image's files are assembled in (created). */
  dir: string;
  /** DAG files baked in at /opt/capstan/dags (linked, so a file added later is seen, like a rebuilt image). */
  dagsDir: string;
  /**
   * The source tree the image is built from (its docker/Dockerfile, src/, package.json, ui/, node_modules):
   * default this checkout; another release's tree for an upgrade test.
   */
  root?: string;
}

/** The instructions of docker/Dockerfile's `runtime` stage this needs (ENV, ENTRYPOINT, CMD, WORKDIR, USER). */
export function runtimeStage(dockerfile: string): { env: Record<string, string>; entrypoint: string[]; cmd: string[]; workingDir: string; user: string } {
  const logical = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim());
  const start = logical.findIndex((l) => /^FROM\s+\S+\s+AS\s+runtime$/i.test(l));
  if (start < 0) throw new Error('docker/Dockerfile has no `FROM … AS runtime` stage');
  const env: Record<string, string> = {};
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  let workingDir = '/';
  let user = 'root';
  for (const line of logical.slice(start + 1)) {
    if (/^FROM\s/i.test(line)) break;
    const [, op = '', rest = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    switch (op.toUpperCase()) {
      case 'ENV':
        for (const m of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[m[1] ?? ''] = (m[2] ?? '').replace(/^"|"$/g, '');
        break;
      case 'ENTRYPOINT': entrypoint = JSON.parse(rest) as string[]; break;
      case 'CMD': cmd = JSON.parse(rest) as string[]; break;
      case 'WORKDIR': workingDir = rest; break;
      case 'USER': user = rest; break;
    }
  }
  return { env, entrypoint, cmd, workingDir, user };
}

/**
 * The Capstan app image (docker/Dockerfile) assembled from this checkout under `options.dir`.
 *
 * @example
 * const image = capstanAppImage({ dir: join(tmp, 'image'), dagsDir: join(tmp, 'dags') });
 * startLocalKubelet({ ..., sandbox: { images: (ref) => ref.startsWith('capstan/') ? image : undefined } });
 */
export function capstanAppImage(options: CapstanAppImageOptions): LocalImage {
  const root = options.root ?? repoRoot;
  const stage = runtimeStage(readFileSync(join(root, 'docker', 'Dockerfile'), 'utf8'));
  // The image's user `node` of the Node base image.
  if (stage.user !== 'node') throw new Error(`docker/Dockerfile's runtime stage runs as ${stage.user}; the local image knows the user node (1000)`);
  const user = { uid: 1000, gid: 1000 };
  const appDir = stage.env['CAPSTAN_APP_DIR'] ?? '/opt/capstan';
  const home = '/home/node';
  const app = join(options.dir, 'app');
  const bin = join(options.dir, 'bin');
  const homeLayer = join(options.dir, 'home');
  mkdirSync(app, { recursive: true });
  mkdirSync(bin, { recursive: true });
  for (const entry of ['src', 'node_modules', 'package.json', 'ui']) symlinkSync(join(root, entry), join(app, entry));
  symlinkSync(resolve(options.dagsDir), join(app, 'dags'));
  copyFileSync(join(root, 'docker', 'capstan'), join(bin, 'capstan'));
  chmodSync(join(bin, 'capstan'), 0o755);
  symlinkSync(process.execPath, join(bin, 'node'));
  // `mkdir -p /opt/capstan/dags /home/node/capstan && chown node:node /home/node/capstan`
  const capstanHome = stage.env['CAPSTAN_HOME'] ?? join(home, 'capstan');
  mkdirSync(join(homeLayer, capstanHome.slice(home.length)), { recursive: true });
  chownSync(homeLayer, user.uid, user.gid);
  chownSync(join(homeLayer, capstanHome.slice(home.length)), user.uid, user.gid);
  return {
    entrypoint: stage.entrypoint,
    cmd: stage.cmd,
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...stage.env },
    workingDir: stage.workingDir,
    user,
    home,
    layers: { [appDir]: app, '/usr/local/bin': bin, [home]: homeLayer },
  };
}
