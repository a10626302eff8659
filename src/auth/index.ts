/**
 * Auth: identity and access — users, API tokens and sessions (AuthService), password hashing, the built-in
 * roles and their permissions, per-DAG grants, OIDC sign-in, and the task-try tokens the Execution API
 * checks. HTTP lives in src/api/auth/; this folder knows nothing of requests. Other folders import auth
 * through this module only (lint: eslint-rules/noDeepImports.js).
 *
 * @example
 * import { AuthService, generatePassword, roleAllows } from '../auth/index.ts';
 * const auth = new AuthService({ db, settings, secretKey });
 * const password = generatePassword();
 * const canRead = roleAllows('Viewer', { resource: 'dag', action: 'read' });
 */
export * from './apiTokenFormat.ts';
export * from './authService.ts';
export * from './dagGrants.ts';
export * from './loginThrottle.ts';
export * from './oidcLogin.ts';
export * from './oidcSettings.ts';
export * from './passwords.ts';
export * from './permissions.ts';
export * from './sessionTokens.ts';
export * from './taskToken.ts';
