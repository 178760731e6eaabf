// What the control plane wants, computed the way the agent computes it but once: the
// agent's source (manifest directory or API server) fills a change tracker until it has
// synced, then the model and encoder run over the snapshot. Frontend and backend ids are
// adopted from the maps first, as a restarted agent adopts them, so a frontend that is
// programmed as desired encodes to exactly the bytes the maps hold.

import { KubeConfig } from '@kubernetes/client-node';
import type { AgentConfig } from '../agent/agent.js';
import { desiredState, type DesiredState } from '../encoder/desired-state.js';
import { IdAllocator } from '../encoder/id-allocator.js';
import type { EncodedState } from '../encoder/types.js';
import { EnvironmentError, type KpxError } from '../errors.js';
import { silentLogger } from '../log.js';
import { ApiServerSource } from '../sources/apiserver.js';
import { ManifestSource } from '../sources/manifests.js';
import type { Source } from '../sources/types.js';
import { ChangeTracker } from '../tracker/change-tracker.js';
import type { TrackerSnapshot } from '../tracker/types.js';

export interface SourceSnapshot {
  snapshot: TrackerSnapshot;
  /** Objects the source reported invalid and skipped (as the agent would). */
  errors: KpxError[];
  /** Where the objects came from, for messages. */
  describe: string;
}

function makeSource(cfg: AgentConfig, errors: KpxError[]): { source: Source; describe: string } {
  if (cfg.source.kind === 'manifests') {
    return {
      source: new ManifestSource({
        dir: cfg.source.dir,
        nodeName: cfg.nodeName,
        serviceCidr: cfg.source.serviceCidr,
        nodePortRange: cfg.source.nodePortRange,
        onError: (err) => errors.push(err),
      }),
      describe: `manifests in ${cfg.source.dir}`,
    };
  }
  const kc = new KubeConfig();
  if (cfg.source.kubeconfig) kc.loadFromFile(cfg.source.kubeconfig);
  else kc.loadFromCluster();
  const where = cfg.source.kubeconfig ? `API server of ${cfg.source.kubeconfig}` : 'in-cluster API server';
  return { source: new ApiServerSource({ kubeConfig: kc, nodeName: cfg.nodeName, watchPods: true, logger: silentLogger }), describe: where };
}

/** Reads the source until its initial lists are in (or `timeoutMs` passes), then stops it. */
export async function readSource(cfg: AgentConfig, timeoutMs = 30_000): Promise<SourceSnapshot> {
  const errors: KpxError[] = [];
  const { source, describe } = makeSource(cfg, errors);
  const tracker = new ChangeTracker();
  try {
    await source.start(tracker);
    const deadline = Date.now() + timeoutMs;
    while (!tracker.ready) {
      if (Date.now() > deadline) throw new EnvironmentError(`the ${describe} did not deliver its objects within ${timeoutMs / 1000} s`, 'check the address and credentials');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await source.stop();
  }
  return { snapshot: tracker.snapshot(), errors, describe };
}

/** The desired state of `snap` with the ids of `programmed` adopted first. */
export function desiredWithAdoptedIds(snap: TrackerSnapshot, cfg: AgentConfig, programmed: EncodedState): DesiredState & { idProblems: string[] } {
  const ids = new IdAllocator();
  const idProblems = ids.adoptState(programmed);
  return { ...desiredState(snap.services.values(), snap.node, cfg.model, ids), idProblems };
}
