// Text form of the inspect views: aligned columns, one row per map entry.

import type { AffinityView, BackendView, CounterView, FlowView, ServicesView } from './views.js';

/** Rows padded into columns (the last column is not padded). */
export function table(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

const dash = (s: string | null): string => s ?? '-';
const age = (s: number): string => (s < 60 ? `${s.toFixed(1)}s` : s < 3600 ? `${(s / 60).toFixed(1)}m` : `${(s / 3600).toFixed(1)}h`);

export function renderServices(v: ServicesView): string[] {
  if (v.services.length === 0 && !v.orphanBackends.length && !v.orphanSlots.length) return ['no frontends'];
  const out: string[] = [];
  for (const s of v.services) {
    const aff = s.flags.includes('AFFINITY') ? `${s.affinityTimeoutS}s` : '-';
    out.push(`${s.frontend}  ${s.scope}  id=${s.svcId}  flags=${s.flags.join('|') || '-'}  affinity=${aff}  ${dash(s.owner)}`);
    const rows: string[][] = s.slots.map((id, i) => {
      const be = s.backends.find((b) => b.id === id);
      return [`slot ${i + 1}`, `backend ${id}`, be ? `${be.addr}:${be.port}/${be.proto}` : '(missing)', be ? be.state : ''];
    });
    for (const be of s.backends.filter((b) => !b.inSlots)) rows.push(['no slot', `backend ${be.id}`, `${be.addr}:${be.port}/${be.proto}`, `${be.state} (existing flows only)`]);
    if (rows.length === 0) out.push('    no backends: new flows are rejected or dropped');
    else out.push(...table(['', '', '', ''], rows).slice(1).map((l) => `    ${l}`));
  }
  for (const id of v.orphanBackends) out.push(`orphan backend ${id} (no frontend owns it; the next full sync removes it)`);
  for (const k of v.orphanSlots) out.push(`orphan slot ${k} (no slot 0; the next full sync removes it)`);
  return out;
}

export function renderBackends(v: BackendView[]): string[] {
  if (v.length === 0) return ['no backends'];
  return table(
    ['ID', 'BACKEND', 'STATE', 'SVC', 'OWNER'],
    v.map((b) => [String(b.id), `${b.addr}:${b.port}/${b.proto}`, b.state, String(b.svcId), dash(b.owner)]),
  );
}

export function renderFlows(v: FlowView[], what = 'conntrack entries'): string[] {
  if (v.length === 0) return [`no ${what}`];
  return table(
    ['DIR', 'PROTO', 'SOURCE', 'DESTINATION', 'BACKEND', 'NAT', 'SNAT-PEER', 'FLAGS', 'AGE', 'SVC', 'OWNER'],
    v.map((f) => [
      f.dir,
      f.proto,
      f.src,
      f.dst,
      `${f.backendId}${f.backend ? ` ${f.backend}` : ' (gone)'}`,
      dash(f.nat),
      dash(f.peer),
      f.flags.join('|') || '-',
      age(f.ageS),
      String(f.svcId),
      dash(f.owner),
    ]),
  );
}

export function renderAffinity(v: AffinityView[]): string[] {
  if (v.length === 0) return ['no affinity entries'];
  return table(
    ['CLIENT', 'SVC', 'BACKEND', 'LAST USED', 'OWNER'],
    v.map((a) => [a.client, String(a.svcId), `${a.backendId}${a.backend ? ` ${a.backend}` : ' (gone)'}`, `${age(a.ageS)} ago`, dash(a.owner)]),
  );
}

export function renderCounters(v: CounterView[]): string[] {
  return table(['REASON', 'PACKETS', 'BYTES'], v.map((c) => [c.reason, c.packets, c.bytes]));
}
