// A load generator run inside a client namespace (spawned with nsenter by load-driver.ts).
// Reads one JSON LoadSpec line on stdin and starts at once:
//   * `requests`: new TCP connections at `rate` per second, one HTTP request each;
//   * `keepalive`: long-lived HTTP/1.1 connections, one request every `intervalMs`;
//   * `udp`: connected UDP sockets, one datagram every `intervalMs`, each answered by seq.
// A line "stop" (or the spec's `maxMs`, so it always ends by itself) stops sending; it
// then waits for what is in flight and prints one JSON LoadReport line.

import { connect, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createInterface } from 'node:readline';

export interface Target {
  host: string;
  port: number;
}

export interface LoadSpec {
  requests: Array<Target & { rate: number }>;
  keepalive: Array<Target & { count: number }>;
  udp: Array<Target & { count: number }>;
  intervalMs: number;
  timeoutMs: number;
  maxMs: number;
}

export interface RequestStats {
  target: string;
  sent: number;
  ok: number;
  failed: number;
  /** Failure reasons (error code, "timeout", "status 503") and how often. */
  errors: Record<string, number>;
  /** Answers per backend pod. */
  pods: Record<string, number>;
}

export interface KeepaliveStats extends RequestStats {
  connections: number;
  /** Connections that closed or errored before the end. */
  broken: number;
  /** Connections whose answers came from more than one pod (moved: the flow was lost). */
  moved: number;
}

export interface UdpStats {
  target: string;
  flows: number;
  sent: number;
  answered: number;
  lost: number;
  errors: Record<string, number>;
  /** Flows whose answers came from more than one pod. */
  moved: number;
}

export interface LoadReport {
  durationMs: number;
  requests: RequestStats[];
  keepalive: KeepaliveStats[];
  udp: UdpStats[];
}

const name = (t: Target): string => `${t.host}:${t.port}`;
const bump = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1;
};

function parseHttp(buf: string): { done: boolean; status: number; body?: string; rest: string } {
  const head = buf.indexOf('\r\n\r\n');
  if (head < 0) return { done: false, status: 0, rest: buf };
  const len = Number(/content-length:\s*(\d+)/i.exec(buf.slice(0, head))?.[1] ?? 0);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(buf)?.[1] ?? 0);
  if (buf.length < head + 4 + len) return { done: false, status, rest: buf };
  return { done: true, status, body: buf.slice(head + 4, head + 4 + len), rest: buf.slice(head + 4 + len) };
}

function podOf(body: string | undefined): string {
  try {
    return (JSON.parse(body ?? '') as { pod?: string }).pod ?? '?';
  } catch {
    return '?';
  }
}

/** One request on a new connection; resolves with the pod or rejects with a reason. */
function oneRequest(t: Target, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: t.host, port: t.port });
    let buf = '';
    let settled = false;
    const finish = (err?: string, pod?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(new Error(err));
      else resolve(pod!);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    sock.on('connect', () => sock.write(`GET / HTTP/1.1\r\nHost: ${t.host}\r\nConnection: close\r\n\r\n`));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      const r = parseHttp(buf);
      if (r.done) finish(r.status === 200 ? undefined : `status ${r.status}`, podOf(r.body));
    });
    sock.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    sock.on('close', () => finish('closed before the answer'));
  });
}

class RequestLoad {
  readonly stats: RequestStats;
  private timer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly t: Target & { rate: number },
    private readonly timeoutMs: number,
  ) {
    this.stats = { target: name(t), sent: 0, ok: 0, failed: 0, errors: {}, pods: {} };
  }

  start(): void {
    // Ticks of 10 ms carry the rate; the debt keeps the average exact whatever the jitter.
    const t0 = Date.now();
    this.timer = setInterval(() => {
      const due = Math.floor(((Date.now() - t0) * this.t.rate) / 1000);
      while (this.stats.sent < due) this.fire();
    }, 10);
  }

  private fire(): void {
    this.stats.sent++;
    const p: Promise<void> = oneRequest(this.t, this.timeoutMs).then(
      (pod) => {
        this.stats.ok++;
        bump(this.stats.pods, pod);
      },
      (err: Error) => {
        this.stats.failed++;
        bump(this.stats.errors, err.message);
      },
    );
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.inflight]);
  }
}

/** One long-lived connection: a request every interval, strictly one at a time. */
class KeepaliveConn {
  private sock: Socket | undefined;
  private buf = '';
  private waiting: ((r: { status: number; body?: string } | Error) => void) | undefined;
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  broken = false;
  readonly pods = new Set<string>();

  constructor(
    private readonly t: Target,
    private readonly stats: KeepaliveStats,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {}

  async open(): Promise<void> {
    const sock = connect({ host: this.t.host, port: this.t.port });
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    this.sock = sock;
    sock.on('data', (d) => {
      this.buf += d.toString('utf8');
      const r = parseHttp(this.buf);
      if (!r.done) return;
      this.buf = r.rest;
      this.waiting?.(r);
    });
    const lost = (why: string) => () => {
      if (this.stopped) return;
      if (!this.broken) bump(this.stats.errors, why);
      this.broken = true;
      this.waiting?.(new Error(why));
    };
    sock.on('error', (e: NodeJS.ErrnoException) => lost(`connection ${e.code ?? e.message}`)());
    sock.on('close', lost('connection closed'));
  }

  start(): void {
    this.loop = (async () => {
      while (!this.stopped && !this.broken) {
        const t0 = Date.now();
        await this.request();
        await sleep(Math.max(0, this.intervalMs - (Date.now() - t0)));
      }
    })();
  }

  private async request(): Promise<void> {
    this.stats.sent++;
    const r = await new Promise<{ status: number; body?: string } | Error>((resolve) => {
      const timer = setTimeout(() => resolve(new Error('timeout')), this.timeoutMs);
      this.waiting = (x) => {
        clearTimeout(timer);
        this.waiting = undefined;
        resolve(x);
      };
      this.sock!.write(`GET / HTTP/1.1\r\nHost: ${this.t.host}\r\nConnection: keep-alive\r\n\r\n`);
    });
    if (r instanceof Error || r.status !== 200) {
      this.stats.failed++;
      bump(this.stats.errors, r instanceof Error ? r.message : `status ${r.status}`);
      return;
    }
    this.stats.ok++;
    const pod = podOf(r.body);
    bump(this.stats.pods, pod);
    this.pods.add(pod);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.sock?.destroy();
  }
}

/** One connected UDP flow: a datagram every interval, answers matched by sequence number. */
class UdpFlow {
  private sock: UdpSocket | undefined;
  private seq = 0;
  private readonly outstanding = new Map<number, NodeJS.Timeout>();
  private timer: NodeJS.Timeout | undefined;
  readonly pods = new Set<string>();
  private drained: (() => void) | undefined;

  constructor(
    private readonly t: Target,
    private readonly stats: UdpStats,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
  ) {}

  async open(): Promise<void> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.connect(this.t.port, this.t.host, () => {
        s.off('error', reject);
        resolve();
      });
    });
    // A connected socket reports ICMP errors (port unreachable) as ECONNREFUSED.
    s.on('error', (e: NodeJS.ErrnoException) => bump(this.stats.errors, e.code ?? e.message));
    s.on('message', (msg) => {
      const ans = JSON.parse(msg.toString('utf8')) as { seq?: number; pod?: string };
      const timer = ans.seq === undefined ? undefined : this.outstanding.get(ans.seq);
      if (!timer) return; // a duplicate, or an answer after its timeout (already lost)
      clearTimeout(timer);
      this.outstanding.delete(ans.seq!);
      this.stats.answered++;
      this.pods.add(ans.pod ?? '?');
      if (this.outstanding.size === 0) this.drained?.();
    });
    this.sock = s;
  }

  start(): void {
    this.timer = setInterval(() => this.send(), this.intervalMs);
  }

  private send(): void {
    const seq = ++this.seq;
    this.stats.sent++;
    this.outstanding.set(
      seq,
      setTimeout(() => {
        this.outstanding.delete(seq);
        this.stats.lost++;
        bump(this.stats.errors, 'timeout');
        if (this.outstanding.size === 0) this.drained?.();
      }, this.timeoutMs),
    );
    this.sock!.send(String(seq));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.outstanding.size) await new Promise<void>((r) => (this.drained = r));
    this.sock?.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function run(spec: LoadSpec, stopSignal: Promise<void>): Promise<LoadReport> {
  const t0 = Date.now();
  const reqs = spec.requests.map((t) => new RequestLoad(t, spec.timeoutMs));
  const keep: Array<{ stats: KeepaliveStats; conns: KeepaliveConn[] }> = [];
  for (const t of spec.keepalive) {
    const stats: KeepaliveStats = { target: name(t), sent: 0, ok: 0, failed: 0, errors: {}, pods: {}, connections: t.count, broken: 0, moved: 0 };
    const conns = Array.from({ length: t.count }, () => new KeepaliveConn(t, stats, spec.intervalMs, spec.timeoutMs));
    for (const c of conns) await c.open();
    keep.push({ stats, conns });
  }
  const udp: Array<{ stats: UdpStats; flows: UdpFlow[] }> = [];
  for (const t of spec.udp) {
    const stats: UdpStats = { target: name(t), flows: t.count, sent: 0, answered: 0, lost: 0, errors: {}, moved: 0 };
    const flows = Array.from({ length: t.count }, () => new UdpFlow(t, stats, spec.intervalMs, spec.timeoutMs));
    for (const f of flows) await f.open();
    udp.push({ stats, flows });
  }
  for (const r of reqs) r.start();
  for (const k of keep) for (const c of k.conns) c.start();
  for (const u of udp) for (const f of u.flows) f.start();
  process.stdout.write(JSON.stringify({ started: true }) + '\n');

  await Promise.race([stopSignal, sleep(spec.maxMs)]);
  await Promise.all([
    ...reqs.map((r) => r.stop()),
    ...keep.flatMap((k) => k.conns.map((c) => c.stop())),
    ...udp.flatMap((u) => u.flows.map((f) => f.stop())),
  ]);
  for (const k of keep) {
    k.stats.broken = k.conns.filter((c) => c.broken).length;
    k.stats.moved = k.conns.filter((c) => c.pods.size > 1).length;
  }
  for (const u of udp) u.stats.moved = u.flows.filter((f) => f.pods.size > 1).length;
  return { durationMs: Date.now() - t0, requests: reqs.map((r) => r.stats), keepalive: keep.map((k) => k.stats), udp: udp.map((u) => u.stats) };
}

function main(): void {
  const rl = createInterface({ input: process.stdin });
  let spec: LoadSpec | undefined;
  let stop: () => void = () => {};
  const stopSignal = new Promise<void>((r) => (stop = r));
  rl.on('line', (line) => {
    if (!spec) {
      spec = JSON.parse(line) as LoadSpec;
      run(spec, stopSignal).then(
        (report) => process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(0)),
        (err: Error) => process.stdout.write(JSON.stringify({ error: err.message }) + '\n', () => process.exit(1)),
      );
    } else if (line.trim() === 'stop') stop();
  });
  rl.on('close', () => stop());
}

main();
