/**
 * Configuration: parsed once at the entry point with `loadConfig`, then passed to every component.
 * See `defaults.ts` for every option, its default and what it does.
 */
export type { CapstanConfig } from './types.ts';
export { loadConfig, configSources, containerMarker, envVarFor, ENV_PREFIX, HOME_ENV, CONFIG_ENV, IN_CONTAINER_ENV, type LoadConfigOptions, type ConfigSources } from './load.ts';
export { describeConfig, configValue, MASK, type ConfigRow } from './describe.ts';
export { ensureGeneratedSecrets, generateFernetKey, generateSecretKey, isFernetKey, type GeneratedSecrets } from './secrets.ts';
export { ConfigError, type ConfigIssue } from './errors.ts';
export { DEFAULT_RUN_ID_PATTERN, OPTIONS, SECTION_NAMES, KNOWN_EXECUTORS, keysOf, optionSpec, type SectionName, type OptionSpec } from './defaults.ts';
export { closestMatch } from './suggest.ts';
