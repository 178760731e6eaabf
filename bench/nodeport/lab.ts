// The bench labs: per scale, one lab per implementation, each built fresh (namespaces
// `kpxbench-np-<pid>-<implementation>-…`) and holding that implementation alone, all torn
// down before the next scale. Every variant so starts from the same state — a freshly
// started pod server, empty conntrack and socket tables, nothing left attached by another
// variant — and the labs can be measured in turns (see bench/nodeport.ts for why).
// On top of the namespaces src/lab/topology.ts builds, the datapath's XDP_PASS program
// (kpx_xdp_peer_pass, as in `kpx lab`) goes on the client network's end of each node's eth1, for every variant alike:
// kpx's XDP_TX (its answers to remote-backend flows) reaches a veth peer only when the
// peer runs XDP, and XDP on a veth also changes how it receives (NAPI instead of the
// backlog), so giving it to all variants keeps the wire between client and node the same.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PROGRAM_NAMES } from '../../src/datapath/abi.js';
import { Datapath, PROGRAM_PIN_SUBDIR } from '../../src/datapath/datapath.js';
import { setSysctl } from '../../src/lab/netns.js';
import { attachPeerPass } from '../../src/lab/peer-pass.js';
import { buildLab, extPeerName, teardownLab, type Lab } from '../../src/lab/topology.js';
import { BACKENDS, benchLabSpec, type BackendPlace } from './cluster.js';

export interface BenchPaths {
  /** Prefix of every namespace of this run: kpxbench-np-<pid>-. */
  prefix: string;
  /** Manifests and agent logs. */
  stateDir: string;
  /** kpx pins, one directory per run under it. */
  pinRoot: string;
  /** Rule files. */
  workDir: string;
}

/** Pins the datapath's own XDP_PASS program (kpx_xdp_peer_pass) once per bench run, under
 *  the run's pin root, for every variant's lab to attach; returns its pin. */
export function pinPeerPass(paths: BenchPaths): string {
  const dp = Datapath.load({ pinDir: join(paths.pinRoot, 'peer-pass'), pinPrograms: true });
  dp.close(); // the pins keep the program
  return join(paths.pinRoot, 'peer-pass', PROGRAM_PIN_SUBDIR, PROGRAM_NAMES.xdpPeerPass);
}

export interface BenchLab {
  /** Prefix of this lab's namespaces. */
  prefix: string;
  lab: Lab;
  node1Ns: string;
  extNs: string;
  backendIps: Record<BackendPlace, string>;
}

/** clientTimeWait: the client closes connections first, so its TIME_WAIT sockets must
 *  not run it out of ports (wide port range, tcp_tw_reuse: in the client's namespace). */
export async function upLab(prefix: string, peerPassPin: string, clientTimeWait = false): Promise<BenchLab> {
  teardownLab(prefix);
  const lab = await buildLab(benchLabSpec(prefix));
  const extNs = lab.externalNs!;
  if (clientTimeWait) {
    setSysctl(extNs, 'net.ipv4.ip_local_port_range', '1024 65000');
    setSysctl(extNs, 'net.ipv4.tcp_tw_reuse', '1');
  }
  attachPeerPass(extNs, peerPassPin, lab.nodes.map((n) => extPeerName(n.name)));
  const ipOf = (place: BackendPlace): string => lab.pods.find((p) => p.name === BACKENDS[place].pod)!.ip;
  return { prefix, lab, node1Ns: lab.nodes[0]!.ns, extNs, backendIps: { local: ipOf('local'), remote: ipOf('remote') } };
}

/** Removes every namespace (and so every process in it) whose name starts with prefix. */
export function downLabs(prefix: string): void {
  teardownLab(prefix);
}

export function removeBenchFiles(paths: BenchPaths): void {
  for (const dir of [paths.pinRoot, paths.stateDir, paths.workDir]) rmSync(dir, { recursive: true, force: true });
}
