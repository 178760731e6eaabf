// Per-interface sysctls the datapath relies on, set in the agent's network namespace:
// - accept_local=1: after reverse NAT a NodePort reply carries the node's own address as
//   its source (and SNATed replies arrive addressed to it); the kernel otherwise drops
//   them as martians.
// - rp_filter strict (1) would drop the same packets; loose (2) keeps spoofing checks.

import { readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from '../log.js';

function set(path: string, value: string): void {
  if (readFileSync(path, 'utf8').trim() !== value) writeFileSync(path, value);
}

export function prepareInterface(ifname: string, log: Logger): void {
  const base = `/proc/sys/net/ipv4/conf/${ifname}`;
  try {
    set(`${base}/accept_local`, '1');
    if (readFileSync(`${base}/rp_filter`, 'utf8').trim() === '1') set(`${base}/rp_filter`, '2');
  } catch (err) {
    log.warn('cannot set interface sysctls', { interface: ifname, err });
  }
}
