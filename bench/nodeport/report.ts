// The NodePort bench's results. Each figure is measured as many short slices, taken in
// turns with the other implementations (see bench/nodeport.ts). A rate is the mean of the
// slices' rates (each loadgen.ts's per-loop rate); a ratio to the floor is taken per
// slice round, against the direct slice of the same round (seconds apart), and the table
// shows the median of those ratios with their interquartile range, so bursts of other
// work on a shared machine hit every implementation alike instead of one of them.

import { table } from '../controlplane/report.js';
import type { BackendPlace } from './cluster.js';
import type { ImplName } from './implementations.js';
import type { LoadMode, LoadResult } from './loadgen.js';

export interface SliceResult {
  scale: number;
  impl: ImplName;
  place: BackendPlace;
  mode: LoadMode;
  /** Slice round: the slices of one round follow each other within seconds. */
  round: number;
  result: LoadResult;
}

/** Per (scale, implementation): how it was loaded. */
export interface LoadInfo {
  scale: number;
  impl: ImplName;
  loadS: number;
  detail: string;
  /** kpx: the ready agent's CPU use while idle, % of one CPU. */
  agentIdleCpuPct?: number;
}

/** Per (scale, implementation, place), from kpx's counters. */
export interface KpxInfo {
  scale: number;
  impl: ImplName;
  place: BackendPlace;
  /** DROP_* counters that moved during the slices ("REASON n, …"), '' for none. */
  drops: string;
}

export interface Ratio {
  median: number;
  p25: number;
  p75: number;
}

export interface Cell {
  scale: number;
  impl: ImplName;
  place: BackendPlace;
  rps: number;
  conn: number;
  rpsX: Ratio;
  connX: Ratio;
  rpsP99Ms: number;
  connP99Ms: number;
  errors: number;
  slow: number;
  clientSeen: string;
  loadS?: number;
  detail: string;
  drops: string;
  agentIdleCpuPct?: number;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (pos - lo);
}

const ratioOf = (xs: readonly number[]): Ratio => ({ median: quantile(xs, 0.5), p25: quantile(xs, 0.25), p75: quantile(xs, 0.75) });

export function reduce(slices: readonly SliceResult[], loads: readonly LoadInfo[], kpx: readonly KpxInfo[]): Cell[] {
  const key = (s: { scale: number; impl: ImplName; place: BackendPlace }): string => `${s.scale}|${s.impl}|${s.place}`;
  const groups = new Map<string, SliceResult[]>();
  for (const s of slices) groups.set(key(s), [...(groups.get(key(s)) ?? []), s]);
  const directOf = (s: SliceResult): SliceResult | undefined =>
    slices.find((d) => d.impl === 'direct' && d.scale === s.scale && d.place === s.place && d.mode === s.mode && d.round === s.round);
  return [...groups.values()].map((g) => {
    const first = g[0]!;
    const of = (mode: LoadMode): SliceResult[] => g.filter((s) => s.mode === mode);
    // Slices are of equal length, so the mean of their rates is the rate over all of them.
    const rate = (mode: LoadMode): number => {
      const xs = of(mode);
      return xs.reduce((n, s) => n + s.result.perSecond, 0) / xs.length;
    };
    const perRound = (mode: LoadMode): number[] =>
      of(mode).flatMap((s) => {
        const d = directOf(s);
        return d ? [s.result.perSecond / d.result.perSecond] : [];
      });
    const load = loads.find((l) => l.scale === first.scale && l.impl === first.impl);
    const k = kpx.find((i) => key(i) === key(first));
    return {
      scale: first.scale,
      impl: first.impl,
      place: first.place,
      rps: rate('rps'),
      conn: rate('conn'),
      rpsX: ratioOf(perRound('rps')),
      connX: ratioOf(perRound('conn')),
      rpsP99Ms: quantile(of('rps').map((s) => s.result.p99Ms), 0.5),
      connP99Ms: quantile(of('conn').map((s) => s.result.p99Ms), 0.5),
      errors: g.reduce((n, s) => n + s.result.errors, 0),
      slow: g.reduce((n, s) => n + s.result.over900ms, 0),
      clientSeen: [...new Set(g.map((s) => s.result.clientSeen.replace(/:\d+$/, '')).filter(Boolean))].join(','),
      ...(load && first.impl !== 'direct' ? { loadS: load.loadS } : {}),
      detail: load?.detail ?? '',
      drops: k?.drops ?? '',
      ...(load?.agentIdleCpuPct !== undefined ? { agentIdleCpuPct: load.agentIdleCpuPct } : {}),
    };
  });
}

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en') : 'n/a');
const ms = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const x = (r: Ratio, impl: ImplName): string =>
  impl === 'direct' ? '1' : !Number.isFinite(r.median) ? 'n/a' : `${r.median.toFixed(2)} [${r.p25.toFixed(2)}-${r.p75.toFixed(2)}]`;

export function resultsTable(cells: readonly Cell[], order: readonly ImplName[]): string {
  const sorted = [...cells].sort(
    (a, b) => a.scale - b.scale || a.place.localeCompare(b.place) || order.indexOf(a.impl) - order.indexOf(b.impl),
  );
  const header = ['services', 'backend', 'implementation', 'req/s', 'x direct [IQR]', 'conn/s', 'x direct [IQR]', 'req p99 ms', 'conn p99 ms', 'errors', '>0.9s', 'backend sees', 'loaded in s', 'agent idle CPU %'];
  const rows = sorted.map((c) => [
    c.scale.toLocaleString('en'),
    c.place,
    c.impl,
    int(c.rps),
    x(c.rpsX, c.impl),
    int(c.conn),
    x(c.connX, c.impl),
    ms(c.rpsP99Ms),
    ms(c.connP99Ms),
    String(c.errors),
    String(c.slow),
    c.clientSeen,
    c.loadS === undefined ? '' : c.loadS.toFixed(2),
    c.agentIdleCpuPct === undefined ? '' : c.agentIdleCpuPct.toFixed(1),
  ]);
  return table(header, rows);
}

/** What each implementation loaded, per scale. */
export function loadLines(loads: readonly LoadInfo[]): string[] {
  return loads.filter((l) => l.impl !== 'direct').map((l) => `  ${l.scale.toLocaleString('en').padStart(6)} Services, ${l.impl}: ${l.detail}, ${l.loadS.toFixed(2)} s`);
}

/** The targets: kpx within 10% of the floor everywhere, ahead of both kube-proxy layouts
 *  at the largest scale measured. */
export function targetLines(cells: readonly Cell[]): string[] {
  const out: string[] = [];
  const get = (scale: number, impl: ImplName, place: BackendPlace): Cell | undefined =>
    cells.find((c) => c.scale === scale && c.impl === impl && c.place === place);
  const scales = [...new Set(cells.map((c) => c.scale))].sort((a, b) => a - b);
  const places = [...new Set(cells.map((c) => c.place))];
  const kpxes = (['kpx', 'kpx-live'] as const).filter((k) => cells.some((c) => c.impl === k));
  const label = (impl: string, place: string, scale: number, metric: string): string =>
    `  ${impl.padEnd(6)} ${place.padEnd(6)} ${scale.toLocaleString('en').padStart(6)} Services ${metric.padEnd(6)}`;
  for (const kpx of kpxes) {
    for (const place of places) {
      for (const scale of scales) {
        const k = get(scale, kpx, place);
        if (!k) continue;
        for (const [metric, r] of [
          ['req/s', k.rpsX.median],
          ['conn/s', k.connX.median],
        ] as const) {
          const verdict = r >= 0.9 ? 'ok' : `MISSED: ${((1 - r) * 100).toFixed(1)}% below the floor, ${((0.9 - r) * 100).toFixed(1)} points short`;
          out.push(`${label(kpx, place, scale, metric)} ${r.toFixed(2)}x direct: ${verdict} (target >= 0.90x)`);
        }
      }
      const top = scales[scales.length - 1]!;
      const k = get(top, kpx, place);
      for (const other of ['iptables', 'iptables-legacy', 'nftables'] as const) {
        const o = get(top, other, place);
        if (!k || !o) continue;
        // Both are measured in the same rounds; the ratio of their ratios to the floor is
        // the paired comparison.
        for (const [metric, r] of [
          ['req/s', k.rpsX.median / o.rpsX.median],
          ['conn/s', k.connX.median / o.connX.median],
        ] as const) {
          out.push(`${label(kpx, place, top, metric)} ${r.toFixed(2)}x ${other}: ${r > 1 ? 'ahead' : 'NOT ahead'} (target: ahead)`);
        }
      }
    }
  }
  return out;
}

/** Where kpx dropped packets during the measurements, from its own counters. */
export function dropLines(cells: readonly Cell[]): string[] {
  return cells.filter((c) => c.drops).map((c) => `  ${c.impl}, ${c.place} backend, ${c.scale.toLocaleString('en')} Services: ${c.drops}`);
}
