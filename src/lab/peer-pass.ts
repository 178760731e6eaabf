// The client network's end of a node's external veth needs an XDP program of its own:
// a veth delivers what XDP sends back out (XDP_TX) only to a peer that runs XDP. The
// datapath object carries one (kpx_xdp_peer_pass); this attaches a pinned copy of it
// from inside the namespace that holds those ends (attach-peer-pass.ts does the work,
// through the native binding, so iproute2 leaves no directories of its own in bpffs).

import { fileURLToPath } from 'node:url';
import { execIn, TS_NODE_ARGS } from './netns.js';

const ATTACH_PEER_PASS = fileURLToPath(new URL('./attach-peer-pass.ts', import.meta.url));

/** Attaches the program pinned at `pin` (native XDP) to `ifaces` of namespace `ns`. */
export function attachPeerPass(ns: string, pin: string, ifaces: string[]): void {
  execIn(ns, process.execPath, [...TS_NODE_ARGS, ATTACH_PEER_PASS, pin, ...ifaces]);
}
