// The lab's client side, run inside a client namespace. Reads one JSON command per line
// on stdin and answers one JSON line per command on stdout, so a test or the lab can
// drive new connections, long-lived connections and UDP flows from one process:
//   {"op":"http","host":"10.96.0.10","port":8080,"count":30}      new TCP connection each,
//        closed by the client once the answer is in; "closer":"server" asks the server to
//        close (Connection: close) and waits for its FIN first
//   {"op":"open","id":"a","host":…,"port":…}                      a kept-alive HTTP connection
//   {"op":"send","id":"a"}                                        one request on it
//   {"op":"udpOpen","id":"u","host":…,"port":…} / {"op":"udpSend","id":"u"}
//   {"op":"udp","host":…,"port":…,"count":30}                     a new UDP socket each
//   {"op":"close","id":"a"}
// Every answer is {"ok":true,"answers":[PodAnswer…]} or {"ok":false,"error":"…"}.

import { connect, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import type { PodAnswer } from './pod-server.js';

const TIMEOUT_MS = 2000;

interface Command {
  op: string;
  id?: string;
  host?: string;
  port?: number;
  count?: number;
  closer?: 'client' | 'server';
  /** udp: bytes per datagram (padding after the sequence number). */
  size?: number;
}

/** One HTTP/1.1 request/response over an open socket; the response carries content-length. */
function httpExchange(sock: Socket, host: string, connection = 'keep-alive'): Promise<PodAnswer> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => done(new Error('timeout')), TIMEOUT_MS);
    const onData = (d: Buffer): void => {
      buf += d.toString('utf8');
      const head = buf.indexOf('\r\n\r\n');
      if (head < 0) return;
      const len = Number(/content-length:\s*(\d+)/i.exec(buf.slice(0, head))?.[1] ?? NaN);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(buf)?.[1] ?? 0);
      const body = buf.slice(head + 4);
      if (body.length >= len) done(undefined, { ...(JSON.parse(body.slice(0, len)) as PodAnswer), status });
    };
    const onError = (e: Error): void => done(e);
    const onClose = (): void => done(new Error('connection closed'));
    function done(err?: Error, ans?: PodAnswer): void {
      clearTimeout(timer);
      sock.off('data', onData).off('error', onError).off('close', onClose);
      if (err) reject(err);
      else resolve(ans!);
    }
    sock.on('data', onData).on('error', onError).on('close', onClose);
    sock.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: ${connection}\r\n\r\n`);
  });
}

/** Resolves once the peer has closed its side (its FIN read). */
function peerClosed(sock: Socket): Promise<void> {
  if (sock.readableEnded) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout waiting for the server to close')), TIMEOUT_MS);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    sock.once('end', done).once('close', done);
    sock.resume();
  });
}

function openTcp(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('connect timeout'));
    }, TIMEOUT_MS);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.on('error', () => {}); // a reset between requests shows up in the next exchange
      resolve(sock);
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** One datagram and its answer; with `size`, the datagram is padded to `size` bytes (and
 *  the server pads its answer as much), e.g. past the MTU to make fragments. */
function udpExchange(sock: UdpSocket, seq: number, size?: number): Promise<PodAnswer> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error, ans?: PodAnswer): void => {
      clearTimeout(timer);
      sock.off('message', onMsg).off('error', onErr);
      if (err) reject(err);
      else resolve(ans!);
    };
    const timer = setTimeout(() => done(new Error('timeout')), TIMEOUT_MS);
    const onMsg = (msg: Buffer): void => {
      const ans = JSON.parse(msg.toString('utf8')) as PodAnswer;
      if (ans.seq === seq) done(undefined, ans); // else a late answer to an earlier probe
    };
    // A connected socket reports ICMP port unreachable as ECONNREFUSED.
    const onErr = (err: Error): void => done(err);
    sock.on('message', onMsg).on('error', onErr);
    const text = String(seq);
    sock.send(size !== undefined && size > text.length + 1 ? `${text} ${'x'.repeat(size - text.length - 1)}` : text);
  });
}

/** A connected UDP socket: the kernel delivers only datagrams whose source is host:port,
 *  so an answer proves the reply was translated back to the address the client used. */
function newUdpSocket(host: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.connect(port, host, () => {
      s.off('error', reject);
      s.on('error', () => {}); // errors between exchanges are reported by the next exchange
      resolve(s);
    });
  });
}

const tcp = new Map<string, { sock: Socket; host: string }>();
const udp = new Map<string, { sock: UdpSocket }>();
let seq = 0;

async function run(c: Command): Promise<PodAnswer[]> {
  const host = c.host ?? '';
  const port = c.port ?? 0;
  switch (c.op) {
    case 'http': {
      const out: PodAnswer[] = [];
      for (let i = 0; i < (c.count ?? 1); i++) {
        const sock = await openTcp(host, port);
        try {
          if (c.closer === 'server') {
            out.push(await httpExchange(sock, host, 'close'));
            await peerClosed(sock);
          } else {
            out.push(await httpExchange(sock, host));
          }
        } finally {
          sock.destroy();
        }
      }
      return out;
    }
    case 'open':
      tcp.set(c.id!, { sock: await openTcp(host, port), host });
      return [];
    case 'send': {
      const t = tcp.get(c.id!);
      if (!t) throw new Error(`no connection ${c.id}`);
      return [await httpExchange(t.sock, t.host)];
    }
    case 'udp': {
      const out: PodAnswer[] = [];
      for (let i = 0; i < (c.count ?? 1); i++) {
        const s = await newUdpSocket(host, port);
        try {
          out.push(await udpExchange(s, ++seq, c.size));
        } finally {
          s.close();
        }
      }
      return out;
    }
    case 'udpOpen':
      udp.set(c.id!, { sock: await newUdpSocket(host, port) });
      return [];
    case 'udpSend': {
      const u = udp.get(c.id!);
      if (!u) throw new Error(`no udp flow ${c.id}`);
      return [await udpExchange(u.sock, ++seq)];
    }
    case 'close':
      tcp.get(c.id!)?.sock.destroy();
      udp.get(c.id!)?.sock.close();
      tcp.delete(c.id!);
      udp.delete(c.id!);
      return [];
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}

const rl = createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on('line', (line) => {
  chain = chain.then(async () => {
    try {
      const answers = await run(JSON.parse(line) as Command);
      process.stdout.write(JSON.stringify({ ok: true, answers }) + '\n');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      process.stdout.write(JSON.stringify({ ok: false, error: err.code ?? err.message }) + '\n');
    }
  });
});
rl.on('close', () => {
  void chain.then(() => process.exit(0));
});
process.stdout.write(JSON.stringify({ ok: true, answers: [], ready: true }) + '\n');
