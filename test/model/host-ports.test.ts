import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_PORTS_KEY, modelHostPorts } from '../../src/model/host-ports.js';

const node = { name: 'node2', addresses: ['10.255.0.12', 'fd00::12'] };

test('a hostPort becomes a frontend on every IPv4 node address with the pod as its one local backend', () => {
  const m = modelHostPorts([{ pod: 'default/host-0', podIP: '10.244.2.15', hostPort: 8000, containerPort: 8000, protocol: 'TCP' }], node);
  assert.equal(m.key, HOST_PORTS_KEY);
  assert.equal(m.frontends.length, 1);
  const fe = m.frontends[0]!;
  assert.deepEqual([fe.kind, fe.addr, fe.port, fe.protocol], ['HostPort', '10.255.0.12', 8000, 'TCP']);
  assert.deepEqual(fe.cluster.usable.map((b) => [b.addr, b.port, b.local]), [['10.244.2.15', 8000, true]]);
});

test('hostIP narrows the address; pods without an IPv4 podIP or with SCTP are skipped', () => {
  const m = modelHostPorts(
    [
      { pod: 'default/a', podIP: '10.244.2.16', hostIP: '10.255.0.99', hostPort: 53, containerPort: 5353, protocol: 'UDP' },
      { pod: 'default/b', hostPort: 80, containerPort: 80, protocol: 'TCP' },
      { pod: 'default/c', podIP: '10.244.2.17', hostPort: 90, containerPort: 90, protocol: 'SCTP' },
    ],
    node,
  );
  assert.deepEqual(
    m.frontends.map((f) => `${f.addr}:${f.port}/${f.protocol}`),
    ['10.255.0.99:53/UDP'],
  );
});
