/**
 * Redacts known secret values from text before it reaches logs, task output, the API or the UI.
 *
 * Secrets are registered as they are resolved (connection passwords, secret-named variables and
 * secret-named connection extras). Each one is also registered in the forms it commonly takes when it
 * leaks: JSON-escaped (inside a serialized object), percent-encoded (inside a URI) and, for multi-line
 * secrets such as private keys, line by line. Values shorter than `minLength` (default 4) are ignored:
 * masking every `a` or `1` would destroy the text without protecting anything.
 *
 * Matching uses one regular expression, longest alternative first, rebuilt lazily after additions, so
 * masking a log line costs a single scan whatever the number of secrets.
 *
 * @example
 * const masker = new SecretMasker();
 * masker.add('hunter2');
 * masker.mask('login with hunter2'); // 'login with ***'
 */
import { isSecretName, type Connection } from '../core/index.ts';

/** What masked text shows in place of a secret. */
export const MASK = '***';

/** Tuning of a {@link SecretMasker}. */
export interface SecretMaskerOptions {
  /** Shortest value (after trimming) that is masked. Default 4. */
  minLength?: number;
}

/** Collects secret values and masks them in text; see the module comment for what is collected. */
export class SecretMasker {
  readonly #minLength: number;
  readonly #patterns = new Set<string>();
  #regex: RegExp | undefined;
  #bytesRegex: RegExp | undefined;

  constructor(options: SecretMaskerOptions = {}) {
    this.#minLength = options.minLength ?? 4;
  }

  /** How many distinct patterns (secrets and their encoded forms) are masked. */
  get size(): number {
    return this.#patterns.size;
  }

  /** Mask `secret` and its JSON-escaped, percent-encoded and per-line forms. Short values are ignored. */
  add(secret: string): void {
    if (secret.trim().length < this.#minLength) return;
    const forms = new Set<string>([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret), encodeURIComponent(secret).replace(/%20/g, '+')]);
    if (/[\r\n]/.test(secret)) for (const line of secret.split(/\r?\n/)) forms.add(line.trim());
    for (const form of forms) {
      if (form.trim().length < this.#minLength || this.#patterns.has(form)) continue;
      this.#patterns.add(form);
      this.#regex = undefined;
      this.#bytesRegex = undefined;
    }
  }

  /**
   * Register a variable's value when its key is secret-named. For a JSON object value, nested
   * secret-named fields are registered too, so they stay hidden when the object is printed reformatted.
   */
  addVariable(key: string, value: string): void {
    if (isSecretName(key)) this.add(value);
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return;
    }
    this.#addSecretFields(parsed);
  }

  /** Register a connection's password and its secret-named extra fields. */
  addConnection(c: Pick<Connection, 'password' | 'extra'>): void {
    if (c.password !== null) this.add(c.password);
    this.#addSecretFields(c.extra);
  }

  /** `text` with every registered secret replaced by `***`. */
  mask(text: string): string {
    const regex = this.#compiled();
    return regex ? text.replace(regex, MASK) : text;
  }

  /**
   * `chunk` (raw UTF-8 bytes, possibly cut mid-line or mid-character) with every registered secret's bytes
   * replaced by as many `*`: the length stays the same, so byte offsets into a shipped log stay valid. A
   * secret split across two chunks is not seen.
   */
  maskBytes(chunk: Uint8Array): Uint8Array {
    const regex = this.#compiledBytes();
    if (regex === undefined) return chunk;
    const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
    regex.lastIndex = 0;
    if (!regex.test(text)) return chunk;
    return Buffer.from(text.replace(regex, (m) => '*'.repeat(m.length)), 'latin1');
  }

  /** A copy of a JSON-like value with every string masked and secret-named fields replaced outright. */
  maskDeep(value: unknown): unknown {
    if (typeof value === 'string') return this.mask(value);
    if (Array.isArray(value)) return value.map((v) => this.maskDeep(v));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = isSecretName(k) && v !== null && v !== undefined && v !== '' ? MASK : this.maskDeep(v);
      return out;
    }
    return value;
  }

  #addSecretFields(value: unknown): void {
    if (Array.isArray(value)) {
      for (const v of value) this.#addSecretFields(v);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [k, v] of Object.entries(value)) {
      if (isSecretName(k) && (typeof v === 'string' || typeof v === 'number')) this.add(String(v));
      else this.#addSecretFields(v);
    }
  }

  /** The patterns as their UTF-8 bytes read as latin1 (one character per byte). */
  #compiledBytes(): RegExp | undefined {
    if (this.#bytesRegex === undefined && this.#patterns.size > 0) {
      const alternatives = [...this.#patterns].map((p) => Buffer.from(p, 'utf8').toString('latin1')).sort((a, b) => b.length - a.length).map(escapeRegExp);
      this.#bytesRegex = new RegExp(alternatives.join('|'), 'g');
    }
    return this.#bytesRegex;
  }

  #compiled(): RegExp | undefined {
    if (this.#regex === undefined && this.#patterns.size > 0) {
      const alternatives = [...this.#patterns].sort((a, b) => b.length - a.length).map(escapeRegExp);
      this.#regex = new RegExp(alternatives.join('|'), 'g');
    }
    return this.#regex;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
