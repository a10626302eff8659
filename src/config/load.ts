/**
 * Builds the one `CapstanConfig` a process uses, from three layers (later wins):
 *
 * 1. defaults (`defaults.ts`), some derived from the home folder or the API address;
 * 2. a YAML file: `options.configPath`, else `$CAPSTAN_CONFIG`, else `<home>/capstan.yaml` when present,
 *    with camelCase keys per section (`core: { dagsFolder: ./dags }`);
 * 3. environment variables `CAPSTAN__SECTION__KEY` (`CAPSTAN__CORE__DAGS_FOLDER`), plus `CAPSTAN_HOME`
 *    for `core.home`.
 * Inside a container ({@link containerMarker}) `api.host` defaults to 0.0.0.0 instead of 127.0.0.1.
 *
 * Unknown sections and keys are errors with a "did you mean", so a typo never silently falls back to a
 * default. Every problem found is reported at once in one `ConfigError` (code `config_invalid`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type * as Yaml from 'yaml';
import { errorMessage } from '../core/index.ts';
import { CONFIG_FILE_NAME, isDerivedDefault, keysOf, optionSpec, SECTION_NAMES, type SectionName } from './defaults.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { ensureGeneratedSecrets } from './secrets.ts';
import { closestMatch } from './suggest.ts';
import type { CapstanConfig } from './types.ts';
import { checkValue } from './validate.ts';

/** Inputs of `loadConfig`; every field is optional and tests pass their own. */
export interface LoadConfigOptions {
  /** Config file to read; it must exist. Default `$CAPSTAN_CONFIG`, else `<home>/capstan.yaml` if present. */
  configPath?: string;
  /** Environment to read. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** The user's home directory, used for `~` and the default `~/capstan`. Default `os.homedir()`. */
  homeOverride?: string;
}

/** Prefix of per-key environment variables: `CAPSTAN__SECTION__KEY`. */
export const ENV_PREFIX = 'CAPSTAN__';

/** Set to 1 by the Capstan image: the process runs in a container. */
export const IN_CONTAINER_ENV = 'CAPSTAN_IN_CONTAINER';

/** `api.host` when none is given inside a container (every interface, so a Service or port mapping reaches it). */
export const CONTAINER_API_HOST = '0.0.0.0';

/**
 * The variable that says this process runs in a container: `CAPSTAN_IN_CONTAINER=1` (the Capstan image sets it)
 * or `KUBERNETES_SERVICE_HOST` (Kubernetes sets it in every pod); undefined outside one. `CAPSTAN_IN_CONTAINER=0`
 * says no even in a pod.
 */
export function containerMarker(env: Record<string, string | undefined>): string | undefined {
  const flag = env[IN_CONTAINER_ENV];
  if (flag === '0' || flag === 'false') return undefined;
  if (flag !== undefined && flag !== '') return IN_CONTAINER_ENV;
  return env['KUBERNETES_SERVICE_HOST'] ? 'KUBERNETES_SERVICE_HOST' : undefined;
}

/** Environment variable that sets `core.home` (and where `capstan.yaml` is looked for). */
export const HOME_ENV = 'CAPSTAN_HOME';

/** Environment variable naming the config file. */
export const CONFIG_ENV = 'CAPSTAN_CONFIG';

/** Where each value came from: `default`, `derived`, `generated: <file>`, a file path, or an env var name. */
export type ConfigSources = ReadonlyMap<string, string>;

const sourcesByConfig = new WeakMap<CapstanConfig, ConfigSources>();

/** The source of every value of a config built by `loadConfig`, keyed `section.key`. */
export function configSources(config: CapstanConfig): ConfigSources | undefined {
  return sourcesByConfig.get(config);
}

/** One raw setting before validation. */
interface RawSetting {
  value: unknown;
  source: string;
  /** Folder that relative paths in this setting are resolved against. */
  baseDir: string;
}

/** `dagsFolder` → `DAGS_FOLDER`. */
export function toScreamingSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** The environment variable that sets `section.key`, e.g. `CAPSTAN__CORE__DAGS_FOLDER`. */
export function envVarFor(section: SectionName, key: string): string {
  return `${ENV_PREFIX}${toScreamingSnake(section)}__${toScreamingSnake(key)}`;
}

/**
 * Load, validate and complete the configuration. Generates `core.fernetKey` and `api.secretKey` into
 * `<home>` when unset (see `ensureGeneratedSecrets`). Throws `ConfigError` listing every problem.
 *
 * @example
 * const config = loadConfig({ env: { CAPSTAN_HOME: '/tmp/capstan', CAPSTAN__CORE__PARALLELISM: '8' } });
 * config.core.dagsFolder; // '/tmp/capstan/dags'
 */
export function loadConfig(options: LoadConfigOptions = {}): CapstanConfig {
  const env = options.env ?? process.env;
  const userHome = options.homeOverride ?? homedir();
  const issues: ConfigIssue[] = [];
  const fromEnv = readEnv(env, issues);

  const envHome = fromEnv.get('core.home');
  const bootHome = envHome ? resolvePath(String(envHome.value), envHome.baseDir, userHome) : join(userHome, 'capstan');
  const file = locateConfigFile(options, env, bootHome, issues);
  const fromFile = file ? readConfigFile(file, issues) : new Map<string, RawSetting>();

  const raw = new Map([...fromFile, ...fromEnv]);
  const values = new Map<string, unknown>();
  const sources = new Map<string, string>();
  for (const [path, setting] of raw) {
    const [section, key] = splitPath(path);
    const spec = optionSpec(section, key);
    if (!spec) continue;
    const checked = checkValue(spec.kind, setting.value, path);
    if (!checked.ok) {
      issues.push({ source: sourceLabel(setting.source), key: path, value: displayRaw(spec.kind.type, spec.secret, setting.value), problem: checked.problem, fix: checked.fix });
      continue;
    }
    values.set(path, spec.kind.type === 'path' ? resolvePath(String(checked.value), setting.baseDir, userHome) : checked.value);
    sources.set(path, setting.source);
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const container = containerMarker(env);
  if (container !== undefined && !values.has('api.host')) {
    // Inside a container a loopback bind is reachable by nothing else (no Service, no port mapping).
    values.set('api.host', CONTAINER_API_HOST);
    sources.set('api.host', `default in a container (${container})`);
  }

  const config = assemble(values, sources, bootHome);
  const secrets = ensureGeneratedSecrets(config.core.home, {
    ...(values.has('core.fernetKey') ? { fernetKey: config.core.fernetKey } : {}),
    ...(values.has('api.secretKey') ? { secretKey: config.api.secretKey } : {}),
  });
  config.core.fernetKey = secrets.fernetKey;
  config.api.secretKey = secrets.secretKey;
  if (secrets.files.fernetKey) sources.set('core.fernetKey', `generated: ${secrets.files.fernetKey}`);
  if (secrets.files.secretKey) sources.set('api.secretKey', `generated: ${secrets.files.secretKey}`);
  sourcesByConfig.set(config, sources);
  return config;
}

/** Fill every option: given values first, then fixed defaults, then defaults derived from the others. */
function assemble(values: Map<string, unknown>, sources: Map<string, string>, bootHome: string): CapstanConfig {
  const config = {} as Record<SectionName, Record<string, unknown>>;
  const pendingDerived: Array<[SectionName, string]> = [];
  for (const section of SECTION_NAMES) {
    config[section] = {};
    for (const key of keysOf(section)) {
      const path = `${section}.${key}`;
      const spec = optionSpec(section, key);
      if (values.has(path)) {
        config[section][key] = values.get(path);
      } else if (section === 'core' && key === 'home') {
        config[section][key] = bootHome;
        sources.set(path, sources.get(path) ?? 'default');
      } else if (spec && isDerivedDefault(spec.default)) {
        config[section][key] = undefined; // keeps table order; filled once the values it derives from are known
        pendingDerived.push([section, key]);
      } else if (spec && spec.default !== 'generated') {
        config[section][key] = spec.default;
        sources.set(path, 'default');
      } else {
        config[section][key] = '';
      }
    }
  }
  const typed = config as unknown as CapstanConfig;
  for (const [section, key] of pendingDerived) {
    const spec = optionSpec(section, key);
    if (spec && isDerivedDefault(spec.default)) {
      config[section][key] = spec.default.derived(typed);
      sources.set(`${section}.${key}`, 'derived');
    }
  }
  return typed;
}

/** Read `CAPSTAN_HOME` and `CAPSTAN__SECTION__KEY` variables (the latter wins for `core.home`); flag misspelt ones that are clearly meant for Capstan. */
function readEnv(env: Record<string, string | undefined>, issues: ConfigIssue[]): Map<string, RawSetting> {
  const settings = new Map<string, RawSetting>();
  const home = env[HOME_ENV];
  if (home !== undefined && home !== '') settings.set('core.home', { value: home, source: HOME_ENV, baseDir: process.cwd() });
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (!name.startsWith(ENV_PREFIX)) {
      // Variables and connections (CAPSTAN_VAR_*, CAPSTAN_CONN_*) and task context may contain `__` freely.
      if (/^CAPSTAN_[A-Z][A-Z0-9_]*__[A-Z]/.test(name) && !/^CAPSTAN_(VAR|CONN|CTX|TASK)_/.test(name)) {
        issues.push({ source: `environment variable ${name}`, key: name, value, problem: 'looks like a Capstan setting but starts with one underscore after CAPSTAN', fix: `rename it to ${name.replace(/^CAPSTAN_/, ENV_PREFIX)}` });
      }
      continue;
    }
    const parts = name.slice(ENV_PREFIX.length).split('__');
    const sectionPart = parts[0] ?? '';
    const section = SECTION_NAMES.find((s) => toScreamingSnake(s) === sectionPart);
    const source = `environment variable ${name}`;
    if (!section) {
      const match = closestMatch(sectionPart, SECTION_NAMES.map(toScreamingSnake));
      const problem = `unknown section '${sectionPart}'` + (match ? `; did you mean ${ENV_PREFIX}${match}__…?` : '');
      issues.push({ source, key: name, value, problem, fix: `use one of the sections ${SECTION_NAMES.map(toScreamingSnake).join(', ')}` });
      continue;
    }
    const keyPart = parts.slice(1).join('__');
    const keys = keysOf(section);
    const key = parts.length === 2 ? keys.find((k) => toScreamingSnake(k) === keyPart) : undefined;
    if (!key) {
      const match = closestMatch(keyPart, keys.map(toScreamingSnake));
      const suggestion = match === undefined ? undefined : `${ENV_PREFIX}${sectionPart}__${match}`;
      const problem = `unknown key '${keyPart}' in section ${section}` + (suggestion ? `; did you mean ${suggestion}?` : '');
      const fix = suggestion ? `rename it to ${suggestion}` : `use one of ${keys.map((k) => envVarFor(section, k)).join(', ')}`;
      issues.push({ source, key: name, value, problem, fix });
      continue;
    }
    settings.set(`${section}.${key}`, { value, source: name, baseDir: process.cwd() });
  }
  return settings;
}

function locateConfigFile(options: LoadConfigOptions, env: Record<string, string | undefined>, home: string, issues: ConfigIssue[]): string | undefined {
  const given = options.configPath ?? (env[CONFIG_ENV] || undefined);
  if (given !== undefined) {
    const path = resolve(given);
    if (!existsSync(path)) {
      const source = options.configPath !== undefined ? '--config' : `environment variable ${CONFIG_ENV}`;
      issues.push({ source, key: 'config file', value: given, problem: 'the file does not exist', fix: `create ${path}, or point ${source} at an existing YAML file` });
      return undefined;
    }
    return path;
  }
  const inHome = join(home, CONFIG_FILE_NAME);
  return existsSync(inHome) ? inHome : undefined;
}

/** Parse the YAML file into `section.key` settings, flagging unknown names and malformed structure. */
function readConfigFile(path: string, issues: ConfigIssue[]): Map<string, RawSetting> {
  const settings = new Map<string, RawSetting>();
  // Loaded only when there is a file to read (~70 modules): most CLI starts have none. Synchronous, as loadConfig is.
  const { parse: parseYaml, YAMLParseError } = createRequire(import.meta.url)('yaml') as typeof Yaml;
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
    issues.push({ source: path, key: '(file)', value: undefined, problem: `cannot be read as YAML${where}: ${errorMessage(err).split('\n')[0] ?? ''}`, fix: 'correct the YAML syntax' });
    return settings;
  }
  if (doc === null || doc === undefined) return settings;
  if (!isMapping(doc)) {
    issues.push({ source: path, key: '(file)', value: doc, problem: 'the top level is not a mapping of sections', fix: 'write sections at the top level, e.g. `core:` then indented `dagsFolder: /path`' });
    return settings;
  }
  const baseDir = dirname(path);
  for (const [sectionName, body] of Object.entries(doc)) {
    const section = SECTION_NAMES.find((s) => s === sectionName);
    if (!section) {
      const match = closestMatch(sectionName, SECTION_NAMES);
      const problem = 'unknown section' + (match ? `; did you mean '${match}'?` : '');
      issues.push({ source: path, key: sectionName, value: body, problem, fix: match ? `rename it to ${match}` : `use one of the sections ${SECTION_NAMES.join(', ')}` });
      continue;
    }
    if (body === null || body === undefined) continue;
    if (!isMapping(body)) {
      issues.push({ source: path, key: section, value: body, problem: 'a section must be a mapping of keys', fix: `write the keys of ${section} indented under it` });
      continue;
    }
    const keys = keysOf(section);
    for (const [key, value] of Object.entries(body)) {
      if (!(keys as string[]).includes(key)) {
        const match = closestMatch(key, keys);
        const problem = 'unknown key' + (match ? `; did you mean '${section}.${match}'?` : '');
        issues.push({ source: path, key: `${section}.${key}`, value, problem, fix: match ? `rename it to ${match}` : `use one of ${keys.join(', ')} (keys are camelCase)` });
        continue;
      }
      if (value === null || value === undefined) continue;
      settings.set(`${section}.${key}`, { value, source: path, baseDir });
    }
  }
  return settings;
}

/** Env settings are stored by variable name; messages spell out what the name is. */
function sourceLabel(source: string): string {
  return source.startsWith('CAPSTAN') ? `environment variable ${source}` : source;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function splitPath(path: string): [SectionName, string] {
  const dot = path.indexOf('.');
  return [path.slice(0, dot) as SectionName, path.slice(dot + 1)];
}

/** Expand `~`, then make the path absolute against `baseDir` (the config file's folder, or the cwd for env). */
function resolvePath(path: string, baseDir: string, userHome: string): string {
  const expanded = path === '~' ? userHome : path.startsWith('~/') ? join(userHome, path.slice(2)) : path;
  return isAbsolute(expanded) ? resolve(expanded) : resolve(baseDir, expanded);
}

function displayRaw(type: string, secret: boolean | undefined, value: unknown): unknown {
  if (secret) return '***';
  if (type === 'databaseUrl' && typeof value === 'string') return redactUrlPassword(value);
  return value;
}

/** The URL with any password replaced by `***`. */
export function redactUrlPassword(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
