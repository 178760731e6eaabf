// The ClusterIP Service most packet tests use: a client pod reaching 10.96.0.10:80,
// served on port 8080 by one backend (WEB) or three (WEB3).
import { PROTO, SVC_FLAGS } from '../../src/datapath/abi.js';
import type { ServiceSeed } from './harness.js';
import type { Ipv4Spec } from './packet.js';

export const CLIENT = '10.244.0.2';
export const VIP = '10.96.0.10';

export const WEB: ServiceSeed = {
  vip: VIP,
  port: 80,
  proto: PROTO.TCP,
  svcId: 1,
  flags: SVC_FLAGS.CLUSTER_IP,
  backends: [{ id: 1, addr: '10.244.1.5', port: 8080 }],
};

export const WEB3: ServiceSeed = {
  ...WEB,
  backends: [
    { id: 1, addr: '10.244.1.5', port: 8080 },
    { id: 2, addr: '10.244.2.6', port: 8080 },
    { id: 3, addr: '10.244.3.7', port: 8080 },
  ],
};

/** A TCP packet from CLIENT:40000 to the frontend, with `over` applied. */
export const toWeb = (over: Partial<Ipv4Spec> = {}): Ipv4Spec => ({ proto: 'tcp', src: CLIENT, dst: VIP, sport: 40000, dport: 80, ...over });
