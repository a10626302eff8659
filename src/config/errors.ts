/** The one error configuration loading raises, carrying every problem found so all can be fixed at once. */
import { CapstanError } from '../core/index.ts';

/** One bad setting: where it came from, which key, the offending value, what is wrong and how to fix it. */
export interface ConfigIssue {
  /** The config file path, the environment variable name, or `loadConfig options`. */
  source: string;
  /** `section.key`, or the bare section / variable name when the name itself is wrong. */
  key: string;
  /** The value as given (secrets as `***`). */
  value: unknown;
  problem: string;
  fix: string;
}

/** `config_invalid` with the list of issues; the message names each one on its own line. */
export class ConfigError extends CapstanError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], cause?: unknown) {
    const lines = issues.map(formatIssue);
    const message = issues.length === 1 ? `invalid configuration: ${lines[0] ?? ''}` : `invalid configuration (${issues.length} problems):\n  ${lines.join('\n  ')}`;
    const hint = issues.length === 1 ? issues[0]?.fix : issues.map((i) => `${i.key}: ${i.fix}`).join('; ');
    const options: { hint?: string; cause?: unknown } = {};
    if (hint !== undefined) options.hint = hint;
    if (cause !== undefined) options.cause = cause;
    super('config_invalid', message, options);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

function formatIssue(issue: ConfigIssue): string {
  const problem = /[.?!]$/.test(issue.problem) ? issue.problem : `${issue.problem}.`;
  return `${issue.source}: ${issue.key} = ${showValue(issue.value)}: ${problem} Fix: ${issue.fix}.`;
}

function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return '(unset)';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
