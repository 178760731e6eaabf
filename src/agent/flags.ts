// `kpx agent` flags. Names follow kube-proxy's where one exists (--kubeconfig,
// --hostname-override is --node-name here as the issue asks, --nodeport-addresses,
// --healthz-bind-address, --metrics-bind-address, --min-sync-period, --sync-period).

import type { FlagSpecs } from '../cli/flags.js';

export const AGENT_FLAGS = {
  kubeconfig: { type: 'string', arg: 'PATH', help: 'kubeconfig of the API server to watch; in a pod the in-cluster config is used when neither source is given' },
  manifests: { type: 'string', arg: 'DIR', help: 'standalone mode: read Service/Endpoints/EndpointSlice/Node/Pod YAML from DIR and follow it' },
  'node-name': { type: 'string', arg: 'NAME', help: 'this node\'s name (default: $NODE_NAME, else the hostname)' },
  'pod-interfaces': { type: 'string', arg: 'PATTERNS', default: 'lxc*,cali*,veth*', help: 'comma-separated name patterns of pod-facing host interfaces (tc ingress)' },
  'external-interface': { type: 'string', arg: 'NAME', help: 'the node\'s external device: XDP (or tc) for NodePort, externalIP, LB IP and hostPort traffic from outside' },
  'xdp-mode': { type: 'string', arg: 'MODE', default: 'auto', help: 'native, generic, or auto (native, else generic, else tc)' },
  'node-ip': { type: 'string', arg: 'IP', help: 'source address for SNATed external flows (default: the external device\'s address, else the Node\'s)' },
  'hairpin-address': { type: 'string', arg: 'IP', default: '169.254.7.1', help: 'source address a pod sees when it reaches itself through a Service' },
  'snat-port-range': { type: 'string', arg: 'LOW-HIGH', default: '61000-65000', help: 'source ports for SNATed external flows; reserved from the node\'s ephemeral ports' },
  'cgroup-root': { type: 'string', arg: 'DIR', help: 'cgroup v2 directory for the socket hooks serving node-originated traffic (default: the cgroup v2 root)' },
  'bpffs-dir': { type: 'string', arg: 'DIR', default: '/sys/fs/bpf/kpx', help: 'where the maps are pinned; kept across restarts' },
  'datapath-object': { type: 'string', arg: 'PATH', help: 'the BPF object to load (default: the bundled bpf/kpx.bpf.o); a new build replaces the programs and keeps the pinned maps (docs/upgrade.md)' },
  'map-size': { type: 'string', arg: 'ROLE=N,…', help: 'map capacities by role, e.g. services=65536,backends=65536 (a change needs new pins: docs/upgrade.md)' },
  'max-backends-per-service': { type: 'string', arg: 'N', default: '65535', help: 'a Service port with more usable endpoints is reported and not programmed' },
  'service-cidr': { type: 'string', arg: 'CIDR', default: '10.96.0.0/12', help: 'standalone mode: ClusterIPs are allocated from here' },
  'service-node-port-range': { type: 'string', arg: 'LOW-HIGH', default: '30000-32767', help: 'standalone mode: nodePorts are allocated from here' },
  'nodeport-addresses': { type: 'string', arg: 'CIDRS', help: 'comma-separated CIDRs: NodePorts answer only on node addresses inside them' },
  'proxy-name': { type: 'string', arg: 'NAME', help: 'trial mode: handle only Services labelled service.kubernetes.io/service-proxy-name=NAME' },
  'min-sync-period': { type: 'string', arg: 'DURATION', default: '100ms', help: 'least time between two syncs (changes in between are coalesced)' },
  'sync-period': { type: 'string', arg: 'DURATION', default: '30s', help: 'a full resync runs at least this often' },
  'healthz-bind-address': { type: 'string', arg: 'HOST:PORT', default: '0.0.0.0:10256', help: '/healthz and /readyz' },
  'metrics-bind-address': { type: 'string', arg: 'HOST:PORT', default: '127.0.0.1:10249', help: 'Prometheus /metrics' },
  'log-level': { type: 'string', arg: 'LEVEL', default: 'info', help: 'debug, info, warn or error' },
  help: { type: 'boolean', help: 'show this help' },
} as const satisfies FlagSpecs;
