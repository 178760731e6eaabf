import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { endpointsForPort, relevantSlices } from '../../src/model/endpoints.js';
import type { ParsedPort } from '../../src/model/service-ports.js';
import { ep, OPTS, slice } from './fixtures.js';

const PORT: ParsedPort = { index: 0, name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 };

test('E2: one backend per address:port, sorted; ties go to the first reading, a more usable one wins', () => {
  const notReady = { conditions: { ready: false, serving: false, terminating: false } };
  const slices = relevantSlices(
    [
      slice('web', 'web-b', [ep('10.244.1.2', { zone: 'b-first' }), ep('10.244.1.3', { ...notReady, zone: 'b-not-ready' }), ep('10.244.1.10', { zone: 'b' })]),
      slice('web', 'web-a', [
        ep('10.244.1.3', { ...notReady, zone: 'a-not-ready' }),
        ep('10.244.1.2', { zone: 'a-first' }),
        ep('10.244.1.1', { ...notReady, zone: 'a-not-ready' }),
        // The same address twice in one slice: the ready reading wins.
        ep('10.244.1.1', { zone: 'a-ready' }),
      ]),
      slice('web', 'web-c', [ep('10.244.1.3', { zone: 'c-ready' })]),
    ],
    OPTS,
  );
  const got = endpointsForPort(slices, PORT, OPTS.nodeName, []).map((b) => `${b.addr}:${b.port} ${b.zone} ${b.ready}`);
  assert.deepEqual(got, [
    '10.244.1.1:8080 a-ready true',
    // Same readiness in web-a and web-b: web-a, first by name, wins.
    '10.244.1.2:8080 a-first true',
    // Not ready in web-a and web-b, ready in web-c: the ready reading wins.
    '10.244.1.3:8080 c-ready true',
    '10.244.1.10:8080 b true',
  ]);
});
