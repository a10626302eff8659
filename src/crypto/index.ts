/** Encryption at rest for secrets in the metadata database. */
export { createFernet, generateFernetKey, type DecryptOptions, type Fernet } from './fernet.ts';
