// Per-frontend statistics (kpx_svc_stats_dense_v1, kpx_svc_stats_v1: bpf/svc_stats.h),
// row by row: packets run through the real programs with BPF_PROG_TEST_RUN, then the
// maps must hold exactly the expected statistics — forwarded packets and their bytes,
// new connections, drops — and none for anything that was not about a frontend.
// Rule letters: /work/shared/SEMANTICS.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTO, SCOPE, SVC_FLAGS, type ProgramRole, type Reason, type SvcStats } from '../../src/datapath/abi.js';
import { Datapath, type ServiceSeed } from './harness.js';
import { TCP_FLAG, ipv4Frame, type Ipv4Spec } from './packet.js';

const POD = '10.244.0.2'; // a client pod on this node
const VIP = '10.96.0.10';
const BE = '10.244.1.5';
const BE2 = '10.244.2.6';
const NODE = '10.0.0.10';
const OUTSIDE = '203.0.113.7';
const LB_IP = '198.51.100.20';
const NODE_PORT = 30080;

const web = (over: Partial<ServiceSeed> = {}): ServiceSeed => ({
  vip: VIP,
  port: 80,
  proto: PROTO.TCP,
  svcId: 1,
  flags: SVC_FLAGS.CLUSTER_IP,
  backends: [{ id: 1, addr: BE, port: 8080 }],
  ...over,
});
const dns = (over: Partial<ServiceSeed> = {}): ServiceSeed => ({
  vip: '10.96.0.53',
  port: 53,
  proto: PROTO.UDP,
  svcId: 2,
  flags: SVC_FLAGS.CLUSTER_IP,
  backends: [],
  ...over,
});
const nodePort = (over: Partial<ServiceSeed> = {}): ServiceSeed => ({
  vip: NODE,
  port: NODE_PORT,
  proto: PROTO.TCP,
  svcId: 10,
  flags: SVC_FLAGS.NODE_PORT,
  backends: [],
  ...over,
});

const toWeb = (over: Partial<Ipv4Spec> = {}): Buffer => ipv4Frame({ proto: 'tcp', src: POD, dst: VIP, sport: 40000, dport: 80, tcpFlags: TCP_FLAG.SYN, ...over });
const fromOutside = (over: Partial<Ipv4Spec> = {}): Buffer =>
  ipv4Frame({ proto: 'tcp', src: OUTSIDE, dst: NODE, sport: 45000, dport: NODE_PORT, tcpFlags: TCP_FLAG.SYN, ...over });
const ack = { tcpFlags: TCP_FLAG.ACK };

interface Step {
  /** Program to run (default kpx_from_pod). */
  prog?: ProgramRole;
  frame: Buffer;
  reason: Reason;
  /** Control-plane change after this packet. */
  then?: (dp: Datapath) => void;
}

interface Row {
  name: string;
  seed: (dp: Datapath) => void;
  steps: Step[];
  /** svc_id -> what its statistics must be; ids not listed must have none (an all-zero
   *  array slot, no hash entry). Bytes are given as the steps whose lengths add up. */
  want: Record<number, { packets?: Step[]; newConns?: number; drops?: number }>;
}

function stats(want: Row['want'][number]): SvcStats {
  const pk = want.packets ?? [];
  return {
    packets: BigInt(pk.length),
    bytes: BigInt(pk.reduce((n, s) => n + s.frame.length, 0)),
    newConns: BigInt(want.newConns ?? 0),
    drops: BigInt(want.drops ?? 0),
  };
}

const rows: Row[] = ((): Row[] => {
  const syn: Step = { frame: toWeb(), reason: 'FWD_NEW_FLOW' };
  const est1: Step = { frame: toWeb(ack), reason: 'FWD_ESTABLISHED' };
  const est2: Step = { frame: toWeb({ ...ack, payload: Buffer.alloc(300, 7) }), reason: 'FWD_ESTABLISHED' };
  const reply: Step = { frame: ipv4Frame({ proto: 'tcp', src: BE, dst: POD, sport: 8080, dport: 40000, tcpFlags: TCP_FLAG.SYN | TCP_FLAG.ACK }), reason: 'FWD_REPLY' };
  const replyToPod: Step = { ...reply, prog: 'toPod', frame: ipv4Frame({ proto: 'tcp', src: BE, dst: POD, sport: 8080, dport: 40000, tcpFlags: TCP_FLAG.ACK }) };
  const podToPod: Step = { frame: ipv4Frame({ proto: 'tcp', src: POD, dst: '10.244.9.9', sport: 40000, dport: 80 }), reason: 'PASS_NO_FLOW' };
  const moved: Step = {
    frame: toWeb({ ...ack, payload: Buffer.alloc(10) }),
    reason: 'FWD_RESELECTED',
  };
  const etpNew: Step = { prog: 'xdpExt', frame: fromOutside(), reason: 'FWD_NEW_FLOW' };
  const etpEst: Step = { prog: 'xdpExt', frame: fromOutside(ack), reason: 'FWD_ESTABLISHED' };
  const lbIn: Step = { prog: 'tcExt', frame: fromOutside({ dst: LB_IP, dport: 443 }), reason: 'FWD_NEW_FLOW' };
  const lbOut: Step = { prog: 'tcExt', frame: fromOutside({ src: '192.0.2.8', dst: LB_IP, dport: 443 }), reason: 'DROP_SOURCE_RANGE' };
  const snat: Step = { prog: 'xdpExt', frame: fromOutside(), reason: 'FWD_SNAT' };
  const hairpin: Step = { frame: ipv4Frame({ proto: 'tcp', src: BE, dst: VIP, sport: 41000, dport: 80, tcpFlags: TCP_FLAG.SYN }), reason: 'FWD_HAIRPIN' };
  const aff1: Step = { frame: toWeb({ sport: 40001 }), reason: 'FWD_NEW_FLOW' };
  const aff2: Step = { frame: toWeb({ sport: 40002 }), reason: 'FWD_AFFINITY' };
  return [
    {
      name: 'a new flow and its established packets: each packet and its bytes, one new connection (P1)',
      seed: (dp) => dp.addService(web()),
      steps: [syn, est1, est2],
      want: { 1: { packets: [syn, est1, est2], newConns: 1 } },
    },
    {
      name: 'replies and passed packets are attributed to no frontend',
      seed: (dp) => dp.addService(web()),
      steps: [syn, reply, replyToPod, podToPod],
      want: { 1: { packets: [syn], newConns: 1 } },
    },
    {
      name: 'no usable endpoint anywhere: every rejected packet is a drop of its frontend, TCP and UDP (N1)',
      seed: (dp) => {
        dp.addService(web({ backends: [] }));
        dp.addService(dns());
      },
      steps: [
        { frame: toWeb(), reason: 'REJECT_TCP' },
        { frame: toWeb({ sport: 40001 }), reason: 'REJECT_TCP' },
        { frame: ipv4Frame({ proto: 'udp', src: POD, dst: '10.96.0.53', sport: 41000, dport: 53 }), reason: 'REJECT_UDP' },
      ],
      want: { 1: { drops: 2 }, 2: { drops: 1 } },
    },
    {
      name: 'a tracked flow moved off a removed backend is forwarded, not a new connection (C2)',
      seed: (dp) => dp.addService(web()),
      steps: [
        {
          ...syn,
          then: (dp) => {
            dp.putBackend(web(), { id: 2, addr: BE2, port: 8080 });
            dp.setSlots(1, [2]);
            dp.deleteBackend(1);
          },
        },
        moved,
      ],
      want: { 1: { packets: [syn, moved], newConns: 1 } },
    },
    {
      name: 'eTP Local from outside (XDP): counted under the INTERNAL entry the flow is tracked with (T1)',
      seed: (dp) => {
        const flags = SVC_FLAGS.NODE_PORT | SVC_FLAGS.ETP_LOCAL;
        dp.addService(nodePort({ flags, backends: [{ id: 1, addr: BE2, port: 8080 }, { id: 2, addr: BE, port: 8080, local: true }] }));
        dp.addService(nodePort({ flags, svcId: 20, scope: SCOPE.INTERNAL, backends: [{ id: 21, addr: BE, port: 8080 }] }));
      },
      steps: [etpNew, etpEst],
      want: { 20: { packets: [etpNew, etpEst], newConns: 1 } },
    },
    {
      name: 'eTP Local with no local endpoint: a drop of the frontend (T1, N2)',
      seed: (dp) => {
        const flags = SVC_FLAGS.NODE_PORT | SVC_FLAGS.ETP_LOCAL;
        dp.addService(nodePort({ flags, backends: [{ id: 1, addr: BE2, port: 8080 }] }));
        dp.addService(nodePort({ flags, svcId: 20, scope: SCOPE.INTERNAL, backends: [] }));
      },
      steps: [{ prog: 'xdpExt', frame: fromOutside(), reason: 'DROP_NO_LOCAL_BACKEND' }],
      want: { 10: { drops: 1 } },
    },
    {
      name: 'loadBalancerSourceRanges (tc on the external device): a refused source is a drop, an admitted one a new connection (T5)',
      seed: (dp) => {
        dp.addService({ vip: LB_IP, port: 443, proto: PROTO.TCP, svcId: 30, flags: SVC_FLAGS.LOAD_BALANCER | SVC_FLAGS.SOURCE_RANGES, backends: [{ id: 1, addr: BE, port: 8080, local: true }] });
        dp.addSourceRange(30, '203.0.113.0/24');
      },
      steps: [lbIn, lbOut],
      want: { 30: { packets: [lbIn], newConns: 1, drops: 1 } },
    },
    {
      name: 'SNAT to a remote backend and hairpin are new connections of their frontends (T4)',
      seed: (dp) => {
        dp.addService(nodePort({ backends: [{ id: 1, addr: BE2, port: 8080 }] }));
        dp.addService(web({ backends: [{ id: 2, addr: BE, port: 8080 }] }));
      },
      steps: [snat, hairpin],
      want: { 10: { packets: [snat], newConns: 1 }, 1: { packets: [hairpin], newConns: 1 } },
    },
    {
      name: 'a frontend id past the array is counted in the LRU hash, the same way',
      seed: (dp) => dp.addService(web({ svcId: 70_000, backends: [{ id: 70_001, addr: BE, port: 8080 }] })),
      steps: [syn, est1],
      want: { 70_000: { packets: [syn, est1], newConns: 1 } },
    },
    {
      name: 'ClientIP affinity: a connection that reuses the remembered backend is a new connection too (A1)',
      seed: (dp) => dp.addService(web({ flags: SVC_FLAGS.CLUSTER_IP | SVC_FLAGS.AFFINITY })),
      steps: [aff1, aff2],
      want: { 1: { packets: [aff1, aff2], newConns: 2 } },
    },
  ];
})();

for (const row of rows) {
  test(`svc stats: ${row.name}`, () => {
    const dp = Datapath.load();
    try {
      dp.setConfig({ nodeAddr: NODE, hairpinAddr: '169.254.7.1', snatPortMin: 61000, snatPortMax: 61999 });
      row.seed(dp);
      for (const s of row.steps) {
        assert.equal(dp.runOn(s.prog ?? 'fromPod', s.frame).reason, s.reason);
        s.then?.(dp);
      }
      const want = new Map(Object.entries(row.want).map(([id, w]) => [Number(id), stats(w)]));
      assert.deepEqual(dp.svcStatsSnapshot(), want);
    } finally {
      dp.close();
    }
  });
}
