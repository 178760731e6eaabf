// A client for the socket-hook tests, run inside the node namespace (nsenter --net=…):
// node --import tsx test/sock/node-client.ts '{"op":"tcp","host":"10.96.77.10","port":80,"count":5}'
// Prints one JSON line: {"ok":true,"results":[…]} or {"ok":false,"error":"ECONNREFUSED"}.
// Each result says which pod answered, the address the pod saw, and what the socket API
// showed the client: the peer (getpeername) and, for UDP, the reply's source (recvmsg).
//   tcp             `count` new connections, one HTTP GET each
//   udpConnected    `count` new connected UDP sockets, one datagram each
//   udpUnconnected  one unconnected socket, `count` sendto()s to host:port
//   udpUnconnectedRepeat  like udpUnconnected but reads a line on stdin between datagrams,
//                   so a test can change the maps mid-flow (prints one line per datagram)
import { request } from 'node:http';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import type { PodAnswer } from '../../src/lab/pod-server.js';

export interface ClientResult {
  pod: string;
  /** The client address:port the pod saw. */
  seenBy: string;
  /** getpeername() of the client socket, address:port. */
  peer?: string;
  /** Source of the UDP reply as recvmsg() reported it, address:port. */
  from?: string;
}

export interface ClientCommand {
  op: 'tcp' | 'udpConnected' | 'udpUnconnected' | 'udpUnconnectedRepeat';
  host: string;
  port: number;
  count?: number;
}

const TIMEOUT_MS = 3000;

function tcpOnce(host: string, port: number): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', agent: false, timeout: TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        const a = JSON.parse(body) as PodAnswer;
        resolve({ pod: a.pod, seenBy: a.client, peer: peerOf(res.socket.remoteAddress, res.socket.remotePort) });
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

function peerOf(addr: string | undefined, port: number | undefined): string | undefined {
  return addr === undefined ? undefined : `${addr}:${port}`;
}

let seq = 0;

/** One datagram and its answer; `to` is set for unconnected sockets. */
function udpExchange(sock: UdpSocket, to?: { host: string; port: number }): Promise<ClientResult> {
  const mySeq = ++seq;
  return new Promise((resolve, reject) => {
    const done = (err?: Error, r?: ClientResult): void => {
      clearTimeout(timer);
      sock.off('message', onMsg).off('error', onErr);
      if (err) reject(err);
      else resolve(r!);
    };
    const timer = setTimeout(() => done(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), TIMEOUT_MS);
    const onMsg = (msg: Buffer, rinfo: { address: string; port: number }): void => {
      const a = JSON.parse(msg.toString('utf8')) as PodAnswer;
      if (a.seq !== mySeq) return; // a late answer to an earlier datagram
      const r: ClientResult = { pod: a.pod, seenBy: a.client, from: `${rinfo.address}:${rinfo.port}` };
      if (!to) {
        const p = sock.remoteAddress();
        r.peer = `${p.address}:${p.port}`;
      }
      done(undefined, r);
    };
    const onErr = (e: Error): void => done(e);
    sock.on('message', onMsg).on('error', onErr);
    const payload = String(mySeq);
    if (to) sock.send(payload, to.port, to.host, (e) => e && done(e));
    else sock.send(payload, (e) => e && done(e));
  });
}

function connectedUdp(host: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    // A failed connect() (e.g. refused by the hook) comes back through the callback.
    s.connect(port, host, (err?: Error) => {
      if (!err) return resolve(s);
      s.close();
      reject(err);
    });
  });
}

function boundUdp(): Promise<UdpSocket> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, () => resolve(s));
  });
}

async function run(c: ClientCommand): Promise<ClientResult[]> {
  const out: ClientResult[] = [];
  const n = c.count ?? 1;
  switch (c.op) {
    case 'tcp':
      for (let i = 0; i < n; i++) out.push(await tcpOnce(c.host, c.port));
      return out;
    case 'udpConnected':
      for (let i = 0; i < n; i++) {
        const s = await connectedUdp(c.host, c.port);
        try {
          out.push(await udpExchange(s));
        } finally {
          s.close();
        }
      }
      return out;
    case 'udpUnconnected': {
      const s = await boundUdp();
      try {
        for (let i = 0; i < n; i++) out.push(await udpExchange(s, c));
      } finally {
        s.close();
      }
      return out;
    }
    case 'udpUnconnectedRepeat': {
      // One line per datagram on stdout; waits for a line on stdin before each one.
      const s = await boundUdp();
      const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
      try {
        for (let i = 0; i < n; i++) {
          if ((await lines.next()).done) break;
          try {
            process.stdout.write(JSON.stringify({ ok: true, results: [await udpExchange(s, c)] }) + '\n');
          } catch (e) {
            process.stdout.write(JSON.stringify({ ok: false, error: codeOf(e) }) + '\n');
          }
        }
      } finally {
        s.close();
      }
      return [];
    }
  }
}

function codeOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message;
}

const cmd = JSON.parse(process.argv[2] ?? '{}') as ClientCommand;
run(cmd).then(
  (results) => {
    if (cmd.op !== 'udpUnconnectedRepeat') process.stdout.write(JSON.stringify({ ok: true, results }) + '\n');
    process.exit(0);
  },
  (e: unknown) => {
    process.stdout.write(JSON.stringify({ ok: false, error: codeOf(e) }) + '\n');
    process.exit(0);
  },
);
