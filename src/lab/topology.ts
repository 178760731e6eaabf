// Builds a small cluster out of network namespaces: a node namespace per node and a
// namespace per pod, joined Calico-style by a veth pair whose node side answers as the
// pod's gateway (169.254.1.1) and routes the pod's /32. The node side of each pod veth is
// where kpx attaches, exactly as on a real node.

import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LabError } from '../errors.js';
import { parseCidr, nthAddress } from '../net/ipv4.js';
import { addVeth, createNetns, deleteNetns, ipIn, listNetns, setSysctl, spawnIn, TS_NODE_ARGS } from './netns.js';

export const POD_GATEWAY = '169.254.1.1';
/** Interface-name pattern of pod veths on the node side (what kpx attaches to). */
export const POD_IF_PREFIX = 'kv-';

export interface PodSpec {
  name: string;
  node: string;
  /** Ports the pod serves: HTTP on tcp ports, a JSON echo on udp ports. */
  tcpPorts?: number[];
  udpPorts?: number[];
  /** A client pod runs no servers. */
  client?: boolean;
}

export interface NodeSpec {
  name: string;
  podCidr: string;
  /** Address on the external network (needs LabSpec.external). */
  addr?: string;
}

/** An external network: a client namespace holding a bridge that every node joins with
 *  its `eth1`, the node's external device. Nodes route each other's pod ranges over it. */
export interface ExternalSpec {
  cidr: string;
  clientAddr: string;
  /** Extra routes in the client namespace, e.g. a LoadBalancer address pool via a node. */
  routes?: Array<{ to: string; via: string }>;
}

export interface LabSpec {
  /** Every namespace name starts with this; teardown removes everything with it. */
  prefix: string;
  nodes: NodeSpec[];
  pods: PodSpec[];
  external?: ExternalSpec;
}

/** The external device of every lab node. */
export const NODE_EXT_IF = 'eth1';

/** The external network's end of a node's eth1 (a bridge port in the client namespace). */
export function extPeerName(node: string): string {
  return `to-${node}`.slice(0, 15);
}

export interface BuiltPod extends PodSpec {
  ns: string;
  ip: string;
  hostIf: string;
}

export interface BuiltNode extends NodeSpec {
  ns: string;
}

export interface Lab {
  spec: LabSpec;
  nodes: BuiltNode[];
  pods: BuiltPod[];
  /** The external client namespace, when the spec has an external network. */
  externalNs?: string;
}

const POD_SERVER = fileURLToPath(new URL('./pod-server.ts', import.meta.url));

export function podIfName(pod: string): string {
  return (POD_IF_PREFIX + pod).slice(0, 15);
}

/** Builds the namespaces, links and routes, and starts the pod servers. */
export async function buildLab(spec: LabSpec): Promise<Lab> {
  const nodes: BuiltNode[] = spec.nodes.map((n) => ({ ...n, ns: spec.prefix + n.name }));
  const pods: BuiltPod[] = [];
  const used = new Set<string>();
  for (const node of nodes) {
    createNetns(node.ns);
    setSysctl(node.ns, 'net.ipv4.ip_forward', '1');
    setSysctl(node.ns, 'net.ipv4.conf.all.rp_filter', '0');
    setSysctl(node.ns, 'net.ipv4.conf.default.rp_filter', '0');
    const cidr = parseCidr(node.podCidr);
    if (!cidr) throw new LabError(`node ${node.name}: bad pod CIDR ${node.podCidr}`);
    let next = 10;
    for (const p of spec.pods.filter((x) => x.node === node.name)) {
      const hostIf = podIfName(p.name);
      if (used.has(hostIf)) throw new LabError(`pod names ${p.name} collide after truncation to ${hostIf}`);
      used.add(hostIf);
      const pod: BuiltPod = { ...p, ns: spec.prefix + p.name, ip: nthAddress(cidr, next++), hostIf };
      createNetns(pod.ns);
      addVeth(node.ns, hostIf, pod.ns, 'eth0');
      ipIn(pod.ns, 'addr', 'add', `${pod.ip}/32`, 'dev', 'eth0');
      ipIn(pod.ns, 'route', 'add', POD_GATEWAY, 'dev', 'eth0', 'scope', 'link');
      ipIn(pod.ns, 'route', 'add', 'default', 'via', POD_GATEWAY, 'dev', 'eth0');
      ipIn(node.ns, 'addr', 'add', `${POD_GATEWAY}/32`, 'dev', hostIf, 'noprefixroute');
      ipIn(node.ns, 'route', 'add', `${pod.ip}/32`, 'dev', hostIf, 'scope', 'link');
      setSysctl(node.ns, `net.ipv4.conf.${hostIf}.rp_filter`, '0');
      pods.push(pod);
    }
  }
  const externalNs = spec.external ? buildExternal(spec.prefix, spec.external, nodes) : undefined;
  await Promise.all(pods.filter((p) => !p.client).map(startPodServer));
  return { spec, nodes, pods, ...(externalNs ? { externalNs } : {}) };
}

/** The external network: client namespace with a bridge, each node's eth1 on it, and
 *  routes between the nodes' pod ranges. */
function buildExternal(prefix: string, ext: ExternalSpec, nodes: BuiltNode[]): string {
  const ns = `${prefix}ext`;
  const cidr = parseCidr(ext.cidr);
  if (!cidr) throw new LabError(`external network: bad CIDR ${ext.cidr}`);
  createNetns(ns);
  ipIn(ns, 'link', 'add', 'br0', 'type', 'bridge');
  ipIn(ns, 'link', 'set', 'br0', 'up');
  ipIn(ns, 'addr', 'add', `${ext.clientAddr}/${cidr.bits}`, 'dev', 'br0');
  for (const node of nodes) {
    if (!node.addr) throw new LabError(`node ${node.name}: an external network needs an address per node`);
    const port = extPeerName(node.name);
    addVeth(node.ns, NODE_EXT_IF, ns, port);
    ipIn(ns, 'link', 'set', port, 'master', 'br0');
    ipIn(node.ns, 'addr', 'add', `${node.addr}/${cidr.bits}`, 'dev', NODE_EXT_IF);
    // Replies to SNATed and forwarded flows leave by the device they came in on; a
    // redirect would teach the other node a shortcut that bypasses the translation.
    setSysctl(node.ns, 'net.ipv4.conf.all.send_redirects', '0');
    setSysctl(node.ns, `net.ipv4.conf.${NODE_EXT_IF}.send_redirects`, '0');
    setSysctl(node.ns, `net.ipv4.conf.${NODE_EXT_IF}.rp_filter`, '0');
  }
  for (const node of nodes) {
    for (const other of nodes) {
      if (other !== node) ipIn(node.ns, 'route', 'add', other.podCidr, 'via', other.addr!, 'dev', NODE_EXT_IF);
    }
  }
  for (const r of ext.routes ?? []) {
    const via = nodes.find((n) => n.name === r.via);
    if (!via?.addr) throw new LabError(`external route ${r.to}: no node ${r.via}`);
    ipIn(ns, 'route', 'add', r.to, 'via', via.addr, 'dev', 'br0');
  }
  return ns;
}

/** Starts the pod's servers detached (they outlive the lab command) and waits until they listen. */
function startPodServer(pod: BuiltPod): Promise<void> {
  const child = spawnIn(
    pod.ns,
    process.execPath,
    [
      ...TS_NODE_ARGS,
      POD_SERVER,
      pod.name,
      (pod.tcpPorts ?? []).join(','),
      (pod.udpPorts ?? []).join(','),
    ],
    { detached: true },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new LabError(`pod ${pod.name}: server did not start`)), 20_000);
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', () => {
      clearTimeout(timer);
      rl.close();
      child.stdout!.destroy();
      child.stderr!.destroy();
      child.stdin!.destroy();
      child.unref();
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new LabError(`pod ${pod.name}: server exited with ${code}`));
    });
  });
}

/** Removes every namespace (and so every veth, route and process) with the prefix. */
export function teardownLab(prefix: string): string[] {
  const gone = listNetns(prefix);
  for (const ns of gone) deleteNetns(ns);
  return gone;
}
