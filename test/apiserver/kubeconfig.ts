// A kubeconfig for the test API server, so kpx can be pointed at it with --kubeconfig.
// The server speaks plain HTTP; @kubernetes/client-node 1.x refuses http:// servers unless
// the cluster entry says insecure-skip-tls-verify, so it does.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

export async function writeKubeconfig(dir: string, server: string, token?: string): Promise<string> {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'kpx-test', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'kpx-test', user: token === undefined ? {} : { token } }],
    contexts: [{ name: 'kpx-test', context: { cluster: 'kpx-test', user: 'kpx-test', namespace: 'default' } }],
    'current-context': 'kpx-test',
  };
  const path = join(dir, 'kubeconfig');
  await writeFile(path, stringify(config), { mode: 0o600 });
  return path;
}
