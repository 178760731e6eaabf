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
      const answer: PodAnswer = { pod: name, port: p, proto: 'udp', client: `${rinfo.address}:${rinfo.port}` };
      const seq = Number(msg.toString('utf8'));
      if (Number.isFinite(seq)) answer.seq = seq;
      sock.send(JSON.stringify(answer), rinfo.port, rinfo.address);
    });
    sock.bind(p, '0.0.0.0');
  }
  process.stdout.write('ready\n');
}

main();
