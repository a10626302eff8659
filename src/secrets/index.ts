/** Secret resolution (environment first, then the metadata DB) and masking of secrets in output. */
export { SecretMasker, MASK, type SecretMaskerOptions } from './masker.ts';
export { secretAccessAllows } from './access.ts';
export {
  SecretsLookup,
  parseConnectionEnv,
  variableEnvName,
  connectionEnvName,
  VAR_ENV_PREFIX,
  CONN_ENV_PREFIX,
  type SecretsLookupOptions,
  type SecretSource,
} from './lookup.ts';
