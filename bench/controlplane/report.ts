// Percentiles and the plain-text results table of the control-plane benchmark.

/** Nearest-rank percentile (q in 0..1) of unsorted samples; undefined when empty. */
export function percentile(samples: readonly number[], q: number): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function fmt(v: number | undefined, digits: number): string {
  if (v === undefined) return 'n/a';
  return v.toFixed(digits);
}

/** "12.3x" — how many times the other number is larger than kpx's (kpx faster when > 1). */
export function ratio(kpx: number | undefined, other: number | undefined, otherIsLowerBound = false): string {
  if (kpx === undefined || other === undefined || kpx <= 0) return 'n/a';
  const r = other / kpx;
  return `${otherIsLowerBound ? '>' : ''}${r >= 100 ? r.toFixed(0) : r.toFixed(1)}x`;
}

/** A table with a header row, columns padded to their widest cell. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}
