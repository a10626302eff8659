// Kubeconfig files for the test cluster's components and tests. JSON is valid
// YAML, so every client (Go or TypeScript) reads these files as they are.
import { writeFile } from 'node:fs/promises';

/** How a kubeconfig user authenticates: a client certificate or a bearer token. */
export type KubeconfigCredentials =
  | { clientCertificate: string; clientKey: string }
  | { token: string };

/**
 * Writes a single-context kubeconfig for `server` trusting `caFile`.
 *
 * @example
 * await writeKubeconfig('/tmp/c/admin.kubeconfig', 'https://127.0.0.1:6443', '/tmp/c/pki/ca.crt',
 *   { clientCertificate: '/tmp/c/pki/admin.crt', clientKey: '/tmp/c/pki/admin.key' });
 */
export async function writeKubeconfig(
  path: string,
  server: string,
  caFile: string,
  credentials: KubeconfigCredentials,
): Promise<void> {
  const user =
    'token' in credentials
      ? { token: credentials.token }
      : { 'client-certificate': credentials.clientCertificate, 'client-key': credentials.clientKey };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'capstan-test', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: 'capstan-test', user }],
    contexts: [{ name: 'capstan-test', context: { cluster: 'capstan-test', user: 'capstan-test' } }],
    'current-context': 'capstan-test',
  };
  await writeFile(path, JSON.stringify(config, null, 2), { mode: 0o600 });
}
