// A kubeconfig for the test API server, so kpx can be pointed at it with --kubeconfig.
// Over plain HTTP, @kubernetes/client-node 1.x refuses the server unless the cluster entry
// says insecure-skip-tls-verify, so it does; over HTTPS it names the server's certificate
// as the certificate authority.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** With `caCert` (PEM) the cluster entry names it as the certificate authority, so the
 *  client verifies the server's certificate as against a real cluster. */
export async function writeKubeconfig(dir: string, server: string, token?: string, caCert?: string): Promise<string> {
  const cluster = caCert === undefined ? { server, 'insecure-skip-tls-verify': true } : { server, 'certificate-authority-data': Buffer.from(caCert).toString('base64') };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'kpx-test', cluster }],
    users: [{ name: 'kpx-test', user: token === undefined ? {} : { token } }],
    contexts: [{ name: 'kpx-test', context: { cluster: 'kpx-test', user: 'kpx-test', namespace: 'default' } }],
    'current-context': 'kpx-test',
  };
  const path = join(dir, 'kubeconfig');
  await writeFile(path, stringify(config), { mode: 0o600 });
  return path;
}
