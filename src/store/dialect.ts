/** The two supported metadata databases. */
export type DialectName = 'sqlite' | 'postgres';
