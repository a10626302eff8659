/**
 * Which names are secret: a variable whose key matches is stored encrypted, and the secrets masker hides the
 * values of such fields in logs and rendered templates.
 */

/**
 * Name fragments that mark a variable or field as secret (case-insensitive substring match), the same
 * list Airflow uses for its sensitive fields.
 */
export const SECRET_NAME_PARTS: readonly string[] = [
  'password',
  'secret',
  'passwd',
  'authorization',
  'api_key',
  'apikey',
  'access_token',
  'private_key',
  'passphrase',
  'keyfile_dict',
  'service_account',
];

/** True when `name` contains one of {@link SECRET_NAME_PARTS}, e.g. `db_password` or `SLACK_API_KEY`. */
export function isSecretName(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_NAME_PARTS.some((part) => lower.includes(part));
}
