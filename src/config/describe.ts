/** The rows `capstan config list` prints: every option with its value, default, source and meaning. */
import { isDerivedDefault, keysOf, optionSpec, SECTION_NAMES, type SectionName } from './defaults.ts';
import { configSources, redactUrlPassword } from './load.ts';
import type { CapstanConfig } from './types.ts';

/** What `config list` shows for secrets. */
export const MASK = '***';

const GENERATED = '(generated under <home>)';

/** One option as listed. `value` and `default` are display values: secrets masked, passwords redacted. */
export interface ConfigRow {
  section: SectionName;
  key: string;
  value: string | number | boolean;
  default: string | number | boolean;
  /** `default`, `derived`, `generated: <file>`, the config file path, or the environment variable name. */
  source: string;
  description: string;
}

/**
 * Describe every option of `config` (optionally one section). Sources are known for configs built by
 * `loadConfig`; for others the source is `default` when the value equals the default, else `unknown`.
 *
 * @example
 * describeConfig(loadConfig()).filter((r) => r.source !== 'default');
 */
export function describeConfig(config: CapstanConfig, section?: SectionName): ConfigRow[] {
  const sources = configSources(config);
  const sections = section === undefined ? SECTION_NAMES : [section];
  return sections.flatMap((s) =>
    keysOf(s).map((key): ConfigRow => {
      const spec = optionSpec(s, key);
      const value = (config[s] as Record<string, unknown>)[key];
      const def = defaultFor(config, s, key);
      const source = sources?.get(`${s}.${key}`) ?? (value === def ? 'default' : 'unknown');
      const shownDefault = spec?.default === 'generated' ? GENERATED : display(def, spec?.secret, spec?.kind.type);
      return { section: s, key, value: display(value, spec?.secret, spec?.kind.type), default: shownDefault, source, description: spec?.doc ?? '' };
    }),
  );
}

/** The default of `section.key` given the rest of `config` (derived defaults use its home and API address). */
function defaultFor(config: CapstanConfig, section: SectionName, key: string): unknown {
  const spec = optionSpec(section, key);
  if (!spec || spec.default === 'generated') return undefined;
  if (section === 'core' && key === 'home' && isDerivedDefault(spec.default)) return spec.default.text;
  if (isDerivedDefault(spec.default)) return spec.default.derived(config);
  return spec.default;
}

function display(value: unknown, secret: boolean | undefined, type: string | undefined): string | number | boolean {
  if (secret) return value === undefined || value === '' ? '' : MASK;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return type === 'databaseUrl' ? redactUrlPassword(value) : value;
  return value === undefined ? '' : JSON.stringify(value);
}

/** The value of `section.key` as `config get` prints it; secrets masked unless `reveal`. */
export function configValue(config: CapstanConfig, section: SectionName, key: string, reveal = false): string | number | boolean {
  const spec = optionSpec(section, key);
  const value = (config[section] as Record<string, unknown>)[key];
  if (reveal) return typeof value === 'number' || typeof value === 'boolean' ? value : String(value);
  return display(value, spec?.secret, spec?.kind.type);
}
