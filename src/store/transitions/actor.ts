/** Who moves a state: stored on every history row. */

/**
 * The mover of a state: one of the platform's roles, a user's name, or `token:<id>` for an API token.
 * The Execution API acts as `worker` (for the task process that called it).
 *
 * @example
 * const a: Actor = 'scheduler';
 * const b: Actor = tokenActor('3f2a…'); // 'token:3f2a…'
 */
export type Actor = 'scheduler' | 'executor' | 'triggerer' | 'worker' | (string & {});

/** The actor of a request authenticated by API token `tokenId`. */
export function tokenActor(tokenId: string): Actor {
  return `token:${tokenId}`;
}
