// Certificates for one test cluster, made fresh by openssl at every start:
// a cluster CA, serving certificates for the API server and the simulated
// kubelet (kwok), client certificates whose subject is the identity RBAC
// sees, and the key pair that signs service-account tokens.
// EC P-256 keys keep the whole set to a fraction of a second.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const run = promisify(execFile);

/** Paths of the PEM files written by {@link makeClusterCerts}. */
export interface ClusterCerts {
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  /** Serves kwok's kubelet API (logs) and the fault proxy's TLS. */
  loopbackServingCert: string;
  loopbackServingKey: string;
  /** system:masters: used by the tests' admin kubeconfig, kwok and the API server's kubelet client. */
  adminCert: string;
  adminKey: string;
  controllerManagerCert: string;
  controllerManagerKey: string;
  schedulerCert: string;
  schedulerKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args);
}

async function ecKey(path: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

async function signedCert(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
  ca: { cert: string; key: string },
): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  await ecKey(key);
  await openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
  await writeFile(ext, extensions);
  await openssl([
    'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial',
    '-days', '30', '-sha256', '-extfile', ext, '-out', cert,
  ]);
  return { cert, key };
}

const serverExt = (sans: string): string =>
  `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n` +
  `extendedKeyUsage=serverAuth\nsubjectAltName=${sans}\n`;
const clientExt =
  'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n';

/**
 * Writes a complete certificate set for a loopback cluster into `dir`.
 *
 * @example
 * const certs = await makeClusterCerts('/tmp/cluster-1/pki');
 */
export async function makeClusterCerts(dir: string): Promise<ClusterCerts> {
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  await ecKey(caKey);
  await openssl([
    'req', '-x509', '-new', '-key', caKey, '-subj', '/CN=capstan-test-ca', '-days', '30', '-sha256',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-out', caCert,
  ]);
  const ca = { cert: caCert, key: caKey };
  // The service IP 10.0.0.1 and the in-cluster names are what pods would use;
  // the tests use 127.0.0.1.
  const apiserver = await signedCert(dir, 'apiserver', '/CN=kube-apiserver', serverExt(
    'IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,' +
      'DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
  ), ca);
  const loopback = await signedCert(dir, 'loopback', '/CN=capstan-test-loopback',
    serverExt('IP:127.0.0.1,DNS:localhost'), ca);
  const admin = await signedCert(dir, 'admin', '/O=system:masters/CN=capstan-test-admin', clientExt, ca);
  const kcm = await signedCert(dir, 'controller-manager', '/CN=system:kube-controller-manager', clientExt, ca);
  const scheduler = await signedCert(dir, 'scheduler', '/CN=system:kube-scheduler', clientExt, ca);
  const serviceAccountKey = join(dir, 'sa.key');
  const serviceAccountPub = join(dir, 'sa.pub');
  await ecKey(serviceAccountKey);
  await openssl(['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPub]);
  return {
    caCert,
    caKey,
    apiserverCert: apiserver.cert,
    apiserverKey: apiserver.key,
    loopbackServingCert: loopback.cert,
    loopbackServingKey: loopback.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    controllerManagerCert: kcm.cert,
    controllerManagerKey: kcm.key,
    schedulerCert: scheduler.cert,
    schedulerKey: scheduler.key,
    serviceAccountKey,
    serviceAccountPub,
  };
}
