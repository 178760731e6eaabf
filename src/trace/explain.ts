// The text form of a trace: what the packet was, which frontend and backend it met, what
// came out, and why (the counter reason, described in words).

import type { TraceResult } from './trace.js';

/** What each datapath reason means, for reasons bpf/constants.h names today. A reason
 *  added later is still printed by name (REASONS comes from the ABI mirror). */
const REASON_TEXT: Record<string, string> = {
  PASS_NOT_IPV4: 'not IPv4: passed untouched',
  PASS_NOT_TCP_UDP: 'neither TCP nor UDP: passed untouched',
  PASS_FRAGMENT: 'a later IP fragment whose first fragment was not seen, or of no tracked flow: passed untouched',
  PASS_NO_SERVICE: 'a tracked flow whose frontend is gone (C4): passed untouched',
  PASS_NO_FLOW: 'not a frontend and not a reply of a tracked flow: passed untouched',
  FWD_NEW_FLOW: 'new flow: a backend was picked among the usable ones and the destination translated',
  FWD_ESTABLISHED: 'packet of a tracked flow: sent to the flow\'s backend (C1)',
  FWD_RESELECTED: 'tracked flow whose backend is gone: moved to a live backend (C2)',
  FWD_AFFINITY: 'new flow sent to the client\'s ClientIP-affinity backend (A1)',
  FWD_REPLY: 'reply of a tracked flow: source restored to the frontend',
  FWD_ICMP_ERROR: 'ICMP error about a packet of a tracked flow: translated, quoted packet included, and sent to the flow\'s other end',
  FWD_SNAT: 'new external flow to a backend on another node: destination and source translated (T4)',
  FWD_HAIRPIN: 'a pod reaching itself through its Service: destination and source translated (T4)',
  DROP_MALFORMED: 'malformed headers: dropped',
  DROP_NO_BACKEND: 'the frontend has no usable backend: dropped',
  DROP_INVALID_BACKEND: 'a slot names no live backend (a write in progress?): dropped',
  DROP_CT_FULL: 'conntrack insert failed: dropped',
  DROP_NAT_FAILED: 'rewriting the packet failed: dropped',
  REJECT_TCP: 'no usable endpoint anywhere: answered with a TCP RST (N1)',
  REJECT_UDP: 'no usable endpoint anywhere: answered with ICMP port unreachable (N1)',
  DROP_NO_LOCAL_BACKEND: 'traffic policy Local and no endpoint on this node: dropped (T1, T3, N2)',
  DROP_SOURCE_RANGE: 'source outside loadBalancerSourceRanges: dropped (T5, N2)',
  DROP_SNAT_PORTS_EXHAUSTED: 'no free SNAT source port: dropped',
  DROP_REJECT_FAILED: 'the reject packet could not be built: dropped',
  DROP_REJECT_NOT_SENT: 'no reject is sent for this packet: dropped',
  DROP_NO_CONFIG: 'SNAT or hairpin needed but the node config is unset: dropped',
  NONE: 'no counter moved (the program did not reach a verdict it counts)',
};

export function describeReason(reason: string): string {
  if (REASON_TEXT[reason]) return REASON_TEXT[reason];
  const kind = reason.split('_')[0];
  return kind === 'DROP' ? 'dropped' : kind === 'PASS' ? 'passed untouched' : kind === 'FWD' ? 'forwarded' : kind === 'REJECT' ? 'rejected' : '';
}

const tuple = (src: string, sport: number | undefined, dst: string, dport: number | undefined, proto: string): string =>
  `${src}${sport !== undefined ? `:${sport}` : ''} -> ${dst}${dport !== undefined ? `:${dport}` : ''}/${proto}`;

export function renderTrace(r: TraceResult): string[] {
  const i = r.input;
  const where = i.from === 'pod' ? 'as a pod sends it' : 'as it arrives from outside the node';
  const out = [`trace ${tuple(i.src, i.sport, i.dst, i.dport, i.proto)}, ${where} (program ${i.program})`];
  const row = (k: string, v: string): void => {
    out.push(`  ${k.padEnd(10)}${v}`);
  };
  const known = r.tracked === 'new' ? 'no tracked flow for this tuple' : r.tracked === 'forward' ? 'a tracked flow (forward direction)' : 'a tracked flow (reply direction)';
  row('packet', `${i.proto}${i.tcpFlags ? ` ${i.tcpFlags.join('|')}` : ''}; conntrack: ${known}`);
  if (r.frontend) {
    const f = r.frontend;
    row('frontend', `${f.addr}:${f.port}/${f.proto} ${f.scope} id=${f.svcId} flags=${f.flags.join('|') || '-'}  ${f.owner ?? '(owner unknown: no owners.json)'}`);
  } else {
    row('frontend', 'none: the destination is not a kpx frontend');
  }
  row('decision', `${r.reason}: ${describeReason(r.reason)}`);
  if (r.reasons.length > 1) row('', `(counters moved: ${r.reasons.join(', ')})`);
  if (r.backend) {
    const b = r.backend;
    const random = r.tracked === 'new' && ['FWD_NEW_FLOW', 'FWD_SNAT', 'FWD_HAIRPIN'].includes(r.reason);
    const pick = random ? '  (picked at random: a real connection may get another usable backend)' : '';
    row('backend', `id ${b.id} ${b.addr}:${b.port}/${b.proto} ${b.state}${pick}`);
  }
  if (r.flow?.snat) row('snat', `source becomes ${r.flow.snat}`);
  const o = r.output;
  if (o && r.rewritten) {
    if (o.proto === 'ICMP' && o.icmp) row('output', `ICMP type ${o.icmp.type} code ${o.icmp.code} ${o.src} -> ${o.dst}` + (o.icmp.quoted ? ` (about ${o.icmp.quoted.src}:${o.icmp.quoted.sport} -> ${o.icmp.quoted.dst}:${o.icmp.quoted.dport})` : ''));
    else row('output', `${tuple(o.src, o.sport, o.dst, o.dport, o.proto)}${o.tcpFlags ? ` ${o.tcpFlags.join('|')}` : ''}`);
  } else {
    row('output', 'unchanged');
  }
  row('verdict', `${r.verdict.name} (${r.verdict.code}): ${r.verdict.meaning}`);
  out.push('  (ran on a private copy of the maps: the live maps are untouched and nothing was sent)');
  return out;
}
