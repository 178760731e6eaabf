// The bench's API server, in a process of its own so that its objects are not counted in
// the agent's RSS: the test API server (test/apiserver) holding the synthetic cluster
// (cluster.ts), each object as a real API server returns it (server-set uid,
// creationTimestamp, resourceVersion and managedFields). Prints the kubeconfig path on
// stdout once it listens, and exits when its stdin closes (the bench ended or died).
//
//   node dist/bench/controlplane/apiserver-child.js --services N --endpoints E --dir DIR

import { parseArgs } from 'node:util';
import { TestApiServer } from '../../test/apiserver/server.js';
import { makeCluster } from './cluster.js';
import { withManagedFields } from './managed-fields.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { services: { type: 'string' }, endpoints: { type: 'string' }, dir: { type: 'string' } } });
  const services = Number(values.services);
  const endpointsPerService = Number(values.endpoints);
  if (!Number.isInteger(services) || !Number.isInteger(endpointsPerService) || !values.dir) {
    throw new Error('usage: apiserver-child --services N --endpoints E --dir DIR');
  }
  // Large enough that the agent's list never meets an expired continue token here.
  const server = await TestApiServer.start({ historyLimit: 1000 });
  const cluster = makeCluster({ services, endpointsPerService });
  server.create(withManagedFields(cluster.node));
  for (const s of cluster.services) {
    server.create(withManagedFields(s.service));
    server.create(withManagedFields(s.slice));
  }
  cluster.services.length = 0; // the server keeps its own copies
  const kubeconfig = await server.writeKubeconfig(values.dir);
  process.stdin.on('close', () => void server.close().finally(() => process.exit(0)));
  process.stdin.resume();
  process.stdout.write(`${kubeconfig}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`apiserver-child: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
