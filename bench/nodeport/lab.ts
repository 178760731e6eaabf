// The bench labs: per scale, one lab per implementation, each built fresh (namespaces
// `kpxbench-np-<pid>-<implementation>-…`) and holding that implementation alone, all torn
// down before the next scale. Every variant so starts from the same state — a freshly
// started pod server, empty conntrack and socket tables, nothing left attached by another
// variant — and the labs can be measured in turns (see bench/nodeport.ts for why).
// On top of the namespaces src/lab/topology.ts builds, a trivial XDP_PASS
// program goes on the client network's end of each node's eth1, for every variant alike:
// kpx's XDP_TX (its answers to remote-backend flows) reaches a veth peer only when the
// peer runs XDP, and XDP on a veth also changes how it receives (NAPI instead of the
// backlog), so giving it to all variants keeps the wire between client and node the same.

import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execIn, setSysctl } from '../../src/lab/netns.js';
import { buildLab, extPeerName, teardownLab, type Lab } from '../../src/lab/topology.js';
import { BACKENDS, benchLabSpec, type BackendPlace } from './cluster.js';

export interface BenchPaths {
  /** Prefix of every namespace of this run: kpxbench-np-<pid>-. */
  prefix: string;
  /** Manifests and agent logs. */
  stateDir: string;
  /** kpx pins, one directory per run under it. */
  pinRoot: string;
  /** Rule files and the compiled peer program. */
  workDir: string;
}

const PEER_PASS_C = `// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
/* The client network's end of a node's eth1: passes everything (see bench/nodeport/lab.ts). */
SEC("xdp") int bench_peer_pass(struct xdp_md *ctx) { return XDP_PASS; }
char LICENSE[] SEC("license") = "GPL";
`;

/** Compiles the peer program once per bench run; returns the object's path. */
export function compilePeerPass(workDir: string): string {
  const src = join(workDir, 'peer-pass.bpf.c');
  const obj = join(workDir, 'peer-pass.bpf.o');
  writeFileSync(src, PEER_PASS_C);
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  execFileSync('clang', ['-O2', '-g', '-target', 'bpf', `-I/usr/include/${arch}-linux-gnu`, '-c', src, '-o', obj]);
  return obj;
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
export async function upLab(prefix: string, peerPassObj: string, clientTimeWait = false): Promise<BenchLab> {
  teardownLab(prefix);
  const lab = await buildLab(benchLabSpec(prefix));
  const extNs = lab.externalNs!;
  if (clientTimeWait) {
    setSysctl(extNs, 'net.ipv4.ip_local_port_range', '1024 65000');
    setSysctl(extNs, 'net.ipv4.tcp_tw_reuse', '1');
  }
  for (const n of lab.nodes) execIn(extNs, 'ip', ['link', 'set', 'dev', extPeerName(n.name), 'xdpdrv', 'obj', peerPassObj, 'sec', 'xdp']);
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
