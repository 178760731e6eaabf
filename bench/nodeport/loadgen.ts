// The NodePort bench's load generator, run inside the external client's namespace:
//   node --import tsx bench/nodeport/loadgen.ts
// reads one LoadSpec (JSON) per line on stdin, runs it, answers one JSON line (a
// LoadResult, or {"error": …}) per spec, and exits when stdin closes. One process serves a
// whole bench run, so runs can be short and follow each other closely without paying
// Node's start-up every time. Two modes, both over plain HTTP/1.1 on raw
// sockets (no http.Agent, so the client spends as little CPU per request as it can):
//   rps   `concurrency` keep-alive connections, each sending its next GET as soon as the
//         previous response is complete (no pipelining);
//   conn  `concurrency` loops of: connect, one GET, close. With closer "client" (the
//         default) the client closes as soon as the response is complete: TIME_WAIT sits
//         in the client (whose namespace then needs tcp_tw_reuse and a wide port range to
//         keep up; the bench sets both). With closer "server" the GET says `Connection:
//         close` and the client reads to the server's FIN: TIME_WAIT sits in the pod.
// Each mode first runs `warmupS` seconds whose results are thrown away (JIT of client and
// server, ARP, caches), then measures for `seconds` or until `maxOps` operations,
// whichever comes first; operations in flight at that moment are finished and counted.
// The rate is the sum over the loops of each loop's operations over its own time (start
// to its last completion), so an operation that stalls (a lost SYN waits a second to be
// resent) costs the loop it stalled, not the time of every loop that already stopped.
// Every response must be a 200 from the expected pod; anything else counts as an error,
// and more than `maxErrors` errors end the run early (reported, not hidden).

import { connect } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export type LoadMode = 'rps' | 'conn';

export interface LoadSpec {
  mode: LoadMode;
  host: string;
  port: number;
  concurrency: number;
  seconds: number;
  warmupS: number;
  maxOps: number;
  /** The pod name the answers must carry. */
  expectPod: string;
  timeoutMs: number;
  maxErrors: number;
  /** conn mode: which side closes first (default client). */
  closer?: 'server' | 'client';
}

export interface LoadResult {
  mode: LoadMode;
  ops: number;
  /** Start to the last loop's end. */
  elapsedS: number;
  /** Sum over the loops of each loop's operations per second of its own time. */
  perSecond: number;
  errors: number;
  firstError?: string;
  /** Per operation (request, or whole connection), in ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Operations that took over 900 ms: a lost SYN or segment waits ~1 s to be resent. */
  over900ms: number;
  /** The client address:port the backend reported for the first answer. */
  clientSeen: string;
  stoppedBy: 'time' | 'count' | 'errors';
}

/** One of the `concurrency` loops: its own count and when it last completed one. */
interface Worker {
  ops: number;
  lastDone: number;
}

interface Phase {
  deadline: number;
  maxOps: number;
  ops: number;
  errors: number;
  firstError?: string;
  latencies: number[];
  stopped: boolean;
  clientSeen: string;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** Parses one complete response at the start of buf: status, body, bytes used. */
function parseResponse(buf: Buffer): { status: number; body: string; used: number } | undefined {
  const head = buf.indexOf(HEAD_END);
  if (head < 0) return undefined;
  const headText = buf.toString('latin1', 0, head);
  const len = Number(/content-length:\s*(\d+)/i.exec(headText)?.[1] ?? NaN);
  if (!Number.isFinite(len)) return { status: -1, body: '', used: buf.length };
  const end = head + 4 + len;
  if (buf.length < end) return undefined;
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headText)?.[1] ?? 0);
  return { status, body: buf.toString('utf8', head + 4, end), used: end };
}

function checkAnswer(spec: LoadSpec, phase: Phase, status: number, body: string): string | undefined {
  if (status !== 200) return `HTTP status ${status}`;
  if (!body.includes(`"pod":"${spec.expectPod}"`)) return `answer from another backend: ${body.slice(0, 120)}`;
  if (!phase.clientSeen) phase.clientSeen = /"client":"([^"]*)"/.exec(body)?.[1] ?? '?';
  return undefined;
}

function fail(spec: LoadSpec, phase: Phase, why: string): void {
  phase.errors++;
  phase.firstError ??= why;
  if (phase.errors > spec.maxErrors) phase.stopped = true;
}

function done(phase: Phase): boolean {
  if (!phase.stopped && (phase.ops >= phase.maxOps || performance.now() >= phase.deadline)) phase.stopped = true;
  return phase.stopped;
}

/** One keep-alive connection sending requests back to back until the phase ends. */
function keepAliveLoop(spec: LoadSpec, phase: Phase, worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    const request = Buffer.from(`GET / HTTP/1.1\r\nHost: ${spec.host}:${spec.port}\r\nConnection: keep-alive\r\n\r\n`);
    const sock = connect({ host: spec.host, port: spec.port, noDelay: true });
    let buf: Buffer = Buffer.alloc(0);
    let sentAt = 0;
    let finished = false;
    const finish = (why?: string): void => {
      if (finished) return;
      finished = true;
      if (why) fail(spec, phase, why);
      sock.destroy();
      resolve();
    };
    const send = (): void => {
      sentAt = performance.now();
      sock.write(request);
    };
    sock.setTimeout(spec.timeoutMs, () => finish(`no answer in ${spec.timeoutMs} ms`));
    sock.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    sock.on('close', () => finish(phase.stopped ? undefined : 'connection closed by the server'));
    sock.on('connect', send);
    sock.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      const r = parseResponse(buf);
      if (!r) return;
      buf = buf.subarray(r.used);
      const bad = checkAnswer(spec, phase, r.status, r.body);
      if (bad) return finish(bad);
      const now = performance.now();
      phase.ops++;
      worker.ops++;
      worker.lastDone = now;
      phase.latencies.push(now - sentAt);
      if (done(phase)) finish();
      else send();
    });
  });
}

/** One new connection: connect, GET, read to the server's FIN. Resolves when closed. */
function oneConnection(spec: LoadSpec, phase: Phase, worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    const start = performance.now();
    const clientCloses = spec.closer !== 'server';
    let buf: Buffer = Buffer.alloc(0);
    let failed: string | undefined;
    let complete = false;
    const sock = connect({ host: spec.host, port: spec.port, noDelay: true });
    sock.setTimeout(spec.timeoutMs, () => {
      failed ??= `no answer in ${spec.timeoutMs} ms`;
      sock.destroy();
    });
    const header = clientCloses ? 'keep-alive' : 'close';
    sock.on('connect', () => sock.write(`GET / HTTP/1.1\r\nHost: ${spec.host}:${spec.port}\r\nConnection: ${header}\r\n\r\n`));
    sock.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      // The client that closes first does so once the response is complete (FIN, as
      // nothing is left unread).
      if (clientCloses && !complete && parseResponse(buf)) {
        complete = true;
        sock.end();
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => (failed ??= e.code ?? e.message));
    sock.on('close', () => {
      const r = failed ? undefined : parseResponse(buf);
      const bad = failed ?? (r ? checkAnswer(spec, phase, r.status, r.body) : 'incomplete response');
      if (bad) fail(spec, phase, bad);
      else {
        const now = performance.now();
        phase.ops++;
        worker.ops++;
        worker.lastDone = now;
        phase.latencies.push(now - start);
      }
      resolve();
    });
  });
}

interface PhaseResult {
  phase: Phase;
  elapsedS: number;
  perSecond: number;
}

async function runPhase(spec: LoadSpec, seconds: number, maxOps: number): Promise<PhaseResult> {
  const t0 = performance.now();
  const phase: Phase = { deadline: t0 + seconds * 1000, maxOps, ops: 0, errors: 0, latencies: [], stopped: false, clientSeen: '' };
  const workers: Worker[] = Array.from({ length: spec.concurrency }, () => ({ ops: 0, lastDone: t0 }));
  // rps: a keep-alive connection that failed is replaced by a new one; conn: one
  // connection after the other.
  const once = spec.mode === 'rps' ? keepAliveLoop : oneConnection;
  await Promise.all(
    workers.map(async (w) => {
      while (!done(phase)) await once(spec, phase, w);
      w.lastDone = Math.max(w.lastDone, performance.now());
    }),
  );
  const perSecond = workers.reduce((n, w) => n + w.ops / Math.max(1e-9, (w.lastDone - t0) / 1000), 0);
  return { phase, elapsedS: (performance.now() - t0) / 1000, perSecond };
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  if (spec.warmupS > 0) {
    const w = await runPhase(spec, spec.warmupS, spec.maxOps);
    if (w.phase.errors > spec.maxErrors) throw new Error(`warm-up failed: ${w.phase.firstError}`);
  }
  const { phase, elapsedS, perSecond } = await runPhase(spec, spec.seconds, spec.maxOps);
  const sorted = Float64Array.from(phase.latencies).sort();
  return {
    mode: spec.mode,
    ops: phase.ops,
    elapsedS,
    perSecond,
    errors: phase.errors,
    ...(phase.firstError !== undefined ? { firstError: phase.firstError } : {}),
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    maxMs: quantile(sorted, 1),
    over900ms: phase.latencies.filter((l) => l > 900).length,
    clientSeen: phase.clientSeen,
    stoppedBy: phase.errors > spec.maxErrors ? 'errors' : phase.ops >= spec.maxOps ? 'count' : 'time',
  };
}

// Run as a script (not when imported for its types): one spec per line, in order.
if (process.argv[1] && resolvePath(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rl = createInterface({ input: process.stdin });
  let chain = Promise.resolve();
  rl.on('line', (line) => {
    chain = chain.then(async () => {
      try {
        process.stdout.write(JSON.stringify(await runLoad(JSON.parse(line) as LoadSpec)) + '\n');
      } catch (e) {
        process.stdout.write(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }) + '\n');
      }
    });
  });
  rl.on('close', () => void chain.then(() => process.exit(0)));
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
}
