// `kpx trace`: one synthetic packet through the real datapath program with
// BPF_PROG_TEST_RUN, over a private copy of the live state (private-datapath.ts). The
// kernel runs the program on the buffer and hands the buffer back; BPF_PROG_TEST_RUN
// never transmits (tc redirects only return their verdict, and XDP runs without live
// frames), so nothing reaches the wire and the live maps are not written.

import {
  CT_DIR,
  CT_FLAGS,
  decodeBackend,
  decodeCtValue,
  encodeBackendId,
  encodeCtKey,
  PROGRAM_NAMES,
  PROTO,
  REASONS,
  sumPerCpuCounter,
  type Backend,
  type CtValue,
  type ProgramRole,
} from '../datapath/abi.js';
import { backendStateName, ctFlagNames, protoName, scopeName, svcFlagNames } from '../inspect/names.js';
import { readOwners } from '../inspect/owners-file.js';
import { withPinnedMaps } from '../inspect/pinned-maps.js';
import { buildPacket, decodePacket, TCP_FLAGS, type DecodedPacket } from './packet.js';
import { PrivateDatapath, type LiveFrontend, type Tuple } from './private-datapath.js';
import { verdictOf } from './verdicts.js';

export type TraceFrom = 'pod' | 'external';

/** Which program sees a packet from where. */
export const TRACE_PROGRAMS: Record<TraceFrom, ProgramRole> = {
  pod: 'fromPod', // tc ingress of the sending pod's veth
  external: 'xdpExt', // XDP on the node's external device
};

export interface TraceRequest extends Tuple {
  from: TraceFrom;
  pinDir: string;
  /** The datapath object to load; default the one kpx ships (bpf/kpx.bpf.o). */
  objectPath?: string;
}

export interface TraceResult {
  input: Tuple & { from: TraceFrom; program: string; tcpFlags: string[] | null };
  /** What the live conntrack map knew about this tuple before the trace. */
  tracked: 'new' | 'forward' | 'reply';
  /** The counter that moved (exactly one for a packet; the first if several did). */
  reason: string;
  reasons: string[];
  verdict: { code: number; name: string; meaning: string };
  frontend: { addr: string; port: number; proto: string; scope: string; svcId: number; flags: string[]; owner: string | null } | null;
  backend: { id: number; addr: string; port: number; proto: string; state: string } | null;
  /** The flow as the private conntrack map recorded it, if it did. */
  flow: { dir: string; svcId: number; backendId: number; flags: string[]; snat: string | null } | null;
  output: DecodedPacket | null;
  rewritten: boolean;
}

function counters(pdp: PrivateDatapath): bigint[] {
  return REASONS.map((_, id) => {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(id);
    const v = pdp.dp.maps.counters.lookup(key);
    return v ? sumPerCpuCounter(v).packets : 0n;
  });
}

function frontendBySvcId(frontends: LiveFrontend[], svcId: number): LiveFrontend | undefined {
  return frontends.find((f) => f.value.svcId === svcId);
}

/** The frontend the packet's destination names (EXTERNAL scope first), if any. */
function frontendByDestination(frontends: LiveFrontend[], t: Tuple): LiveFrontend | undefined {
  const proto = PROTO[t.proto];
  const hits = frontends.filter((f) => f.key.addr === t.dst && f.key.port === t.dport && f.key.proto === proto);
  return hits.sort((a, b) => a.key.scope - b.key.scope)[0];
}

function sameTuple(p: DecodedPacket | undefined, t: Tuple): boolean {
  return !!p && p.proto === t.proto && p.src === t.src && p.dst === t.dst && p.sport === t.sport && p.dport === t.dport;
}

export function runTrace(req: TraceRequest): TraceResult {
  const role = TRACE_PROGRAMS[req.from];
  const progName = PROGRAM_NAMES[role];
  const owners = readOwners(req.pinDir);
  return withPinnedMaps(req.pinDir, (live) => {
    const pdp = PrivateDatapath.load(live, req.objectPath);
    try {
      const copy = pdp.copyFrom(live, req);
      const prog = pdp.dp.programs[role]; // Datapath.load refuses an object without it

      const tcpFlags = req.proto === 'TCP' ? (copy.tracked.forward || copy.tracked.reply ? TCP_FLAGS.ACK : TCP_FLAGS.SYN) : undefined;
      const frame = buildPacket({ ...req, ...(tcpFlags !== undefined ? { tcpFlags } : {}) });
      const before = counters(pdp);
      const run = prog.testRun({ data: frame });
      const after = counters(pdp);
      const moved = after.flatMap((n, i) => (n !== before[i] ? [REASONS[i] ?? `reason${i}`] : []));

      // The flow the private conntrack map now holds for this tuple (a new flow's choice).
      const proto = PROTO[req.proto];
      let ct: { dir: number; v: CtValue } | undefined;
      for (const dir of [CT_DIR.FORWARD, CT_DIR.REPLY]) {
        const v = pdp.dp.maps.conntrack.lookup(encodeCtKey({ saddr: req.src, daddr: req.dst, sport: req.sport, dport: req.dport, proto, dir }));
        if (v) {
          ct = { dir, v: decodeCtValue(v) };
          break;
        }
      }
      const fe = (ct ? frontendBySvcId(copy.frontends, ct.v.svcId) : undefined) ?? frontendByDestination(copy.frontends, req);
      let backend: (Backend & { id: number }) | undefined;
      if (ct && ct.v.backendId) {
        const b = pdp.dp.maps.backends.lookup(encodeBackendId(ct.v.backendId));
        if (b) backend = { id: ct.v.backendId, ...decodeBackend(b) };
      }
      const output = decodePacket(run.data) ?? null;
      return {
        input: { src: req.src, sport: req.sport, dst: req.dst, dport: req.dport, proto: req.proto, from: req.from, program: progName, tcpFlags: tcpFlags === undefined ? null : flagList(tcpFlags) },
        tracked: copy.tracked.forward ? 'forward' : copy.tracked.reply ? 'reply' : 'new',
        reason: moved[0] ?? 'NONE',
        reasons: moved,
        verdict: verdictOf(prog.type, run.retval),
        frontend: fe
          ? {
              addr: fe.key.addr,
              port: fe.key.port,
              proto: protoName(fe.key.proto),
              scope: scopeName(fe.key.scope),
              svcId: fe.value.svcId,
              flags: svcFlagNames(fe.value.flags),
              owner: owners.get(fe.value.svcId) ?? null,
            }
          : null,
        backend: backend ? { id: backend.id, addr: backend.addr, port: backend.port, proto: protoName(backend.proto), state: backendStateName(backend.state) } : null,
        flow: ct
          ? {
              dir: ct.dir === CT_DIR.FORWARD ? 'FORWARD' : 'REPLY',
              svcId: ct.v.svcId,
              backendId: ct.v.backendId,
              flags: ctFlagNames(ct.v.flags),
              snat: ct.v.flags & CT_FLAGS.SNAT ? `${ct.v.peerAddr}:${ct.v.peerPort}` : null,
            }
          : null,
        output,
        rewritten: output !== null && !sameTuple(output, req),
      };
    } finally {
      pdp.close();
    }
  });
}

function flagList(f: number): string[] {
  return Object.entries(TCP_FLAGS)
    .filter(([, b]) => (f & b) !== 0)
    .map(([n]) => n);
}
