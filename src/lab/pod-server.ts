// A lab "pod": HTTP and UDP servers that answer with the pod's name and the client
// address they saw, so the lab and the traffic tests can tell which backend answered and
// whether the source address was preserved. Run inside a pod's network namespace:
//   node --import tsx src/lab/pod-server.ts NAME PORT[,PORT…] [udp:PORT,…]

import { createServer } from 'node:http';
import { createSocket } from 'node:dgram';

export interface PodAnswer {
  pod: string;
  port: number;
  proto: 'tcp' | 'udp';
  client: string; // address:port the server saw
  seq?: number;
  /** HTTP status, set by the probe (any HTTP server can answer, e.g. a health check). */
  status?: number;
  /** UDP: bytes of the datagram the server received. */
  received?: number;
  /** UDP: padding the server adds to its answer when the probe padded its datagram, so a
   *  large datagram's answer is as large (fragmented both ways). */
  pad?: string;
}

function main(): void {
  const [name, tcpPorts = '', udpPorts = ''] = process.argv.slice(2);
  if (!name) {
    process.stderr.write('usage: pod-server NAME TCPPORTS [UDPPORTS]\n');
    process.exit(2);
  }
  for (const p of tcpPorts.split(',').filter(Boolean).map(Number)) {
    const srv = createServer((req, res) => {
      const answer: PodAnswer = {
        pod: name,
        port: p,
        proto: 'tcp',
        client: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
      };
      const body = JSON.stringify(answer);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    srv.keepAliveTimeout = 600_000;
    srv.listen(p, '0.0.0.0');
  }
  for (const p of udpPorts.split(',').filter(Boolean).map(Number)) {
    const sock = createSocket('udp4');
    sock.on('message', (msg, rinfo) => {
      const answer: PodAnswer = { pod: name, port: p, proto: 'udp', client: `${rinfo.address}:${rinfo.port}`, received: msg.length };
      // "SEQ" or "SEQ PADDING" (the probe's datagram of a given size).
      const text = msg.toString('utf8');
      const space = text.indexOf(' ');
      const seq = Number(space < 0 ? text : text.slice(0, space));
      if (Number.isFinite(seq)) answer.seq = seq;
      if (space >= 0) answer.pad = text.slice(space + 1);
      sock.send(JSON.stringify(answer), rinfo.port, rinfo.address);
    });
    sock.bind(p, '0.0.0.0');
  }
  process.stdout.write('ready\n');
}

main();
