// Turns the answers the probe collected into the lab's per-backend table.

import type { PodAnswer } from './pod-server.js';

export interface BackendRow {
  pod: string;
  ip: string;
  answered: number;
  /** Distinct client addresses (without port) the backend saw. */
  clientsSeen: string[];
}

export function summarise(answers: PodAnswer[], backends: Array<{ name: string; ip: string }>): BackendRow[] {
  const rows = new Map<string, BackendRow>();
  for (const b of backends) rows.set(b.name, { pod: b.name, ip: b.ip, answered: 0, clientsSeen: [] });
  for (const a of answers) {
    let r = rows.get(a.pod);
    if (!r) rows.set(a.pod, (r = { pod: a.pod, ip: '?', answered: 0, clientsSeen: [] }));
    r.answered++;
    const addr = a.client.replace(/:\d+$/, '').replace(/^::ffff:/, '');
    if (!r.clientsSeen.includes(addr)) r.clientsSeen.push(addr);
  }
  return [...rows.values()];
}

export function renderTable(title: string, rows: BackendRow[]): string {
  const total = rows.reduce((n, r) => n + r.answered, 0) || 1;
  const lines = [`  ${title}`, `    ${'backend'.padEnd(10)} ${'address'.padEnd(15)} ${'answered'.padStart(8)} ${'share'.padStart(6)}  client address seen`];
  for (const r of rows) {
    const share = `${Math.round((100 * r.answered) / total)}%`;
    lines.push(
      `    ${r.pod.padEnd(10)} ${r.ip.padEnd(15)} ${String(r.answered).padStart(8)} ${share.padStart(6)}  ${r.clientsSeen.join(', ') || '-'}`,
    );
  }
  return lines.join('\n');
}
