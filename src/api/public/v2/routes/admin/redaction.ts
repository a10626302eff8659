/**
 * What the API shows of secrets: nothing. A connection's password and secret-named extra fields, and the
 * value of a secret-named variable (or secret-named fields inside a JSON value), are answered as `***`;
 * the same `***` sent back on an update keeps the stored secret, so a form that shows what it read can
 * save without wiping it.
 */
import { MASK, SecretMasker } from '../../../../../secrets/index.ts';
import { isSecretName, type Connection, type ConnectionExtra } from '../../../../../core/index.ts';

export { MASK };

/** The variable's value as answered: `***` for a secret-named key, secret-named JSON fields masked. */
export function redactVariableValue(key: string, value: string): string {
  if (isSecretName(key)) return MASK;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return value;
  }
  if (parsed === null || typeof parsed !== 'object') return value;
  const masked = new SecretMasker().maskDeep(parsed);
  return JSON.stringify(masked) === JSON.stringify(parsed) ? value : JSON.stringify(masked);
}

/** The value to store for an update: `***` on a secret-named key keeps the stored value. */
export function variableValueToStore(key: string, sent: string, stored: string | undefined): string {
  return sent === MASK && isSecretName(key) && stored !== undefined ? stored : sent;
}

/** A connection's extra as answered: secret-named fields, and the password wherever it appears, masked. */
export function redactExtra(c: Pick<Connection, 'password' | 'extra'>): ConnectionExtra {
  const masker = new SecretMasker();
  masker.addConnection(c);
  return masker.maskDeep(c.extra) as ConnectionExtra;
}

/**
 * The extra to store for an update: a secret-named field sent as `***` keeps its stored value (at any
 * depth); everything else is taken as sent.
 */
export function extraToStore(sent: ConnectionExtra, stored: ConnectionExtra): ConnectionExtra {
  return mergeMasked(sent, stored) as ConnectionExtra;
}

function mergeMasked(sent: unknown, stored: unknown): unknown {
  if (sent === null || typeof sent !== 'object' || Array.isArray(sent)) return sent;
  const old = stored !== null && typeof stored === 'object' && !Array.isArray(stored) ? (stored as Record<string, unknown>) : {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(sent)) {
    if (v === MASK && isSecretName(k) && Object.hasOwn(old, k)) out[k] = old[k];
    else out[k] = mergeMasked(v, old[k]);
  }
  return out;
}
