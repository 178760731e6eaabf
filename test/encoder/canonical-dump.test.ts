import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { canonicalDump, formatFlags } from '../../src/encoder/canonical-dump.js';
import { encodeServices } from '../../src/encoder/encode-state.js';
import { IdAllocator } from '../../src/encoder/id-allocator.js';
import { SVC_FLAGS } from '../../src/datapath/abi.js';
import { modelServices } from '../../src/model/model-services.js';
import { ep, NODE, OPTS, slice, svc } from '../model/fixtures.js';

function state() {
  const inputs = [
    { key: 'default/b', service: svc('b', { clusterIP: '10.96.0.20' }), slices: [slice('b', 'b-1', [ep('10.244.1.2')])] },
    { key: 'default/a', service: svc('a', { clusterIP: '10.96.0.3' }), slices: [slice('a', 'a-1', [ep('10.244.1.1')])] },
  ];
  const models = modelServices(inputs, NODE, OPTS).flatMap((o) => (o.status === 'ok' ? [o.model] : []));
  return encodeServices(models, new IdAllocator()).state;
}

test('the dump orders frontends numerically by address, whatever the insertion order', () => {
  const s = state();
  const reversed = new Map([...s].reverse());
  assert.equal(canonicalDump(reversed), canonicalDump(s));
  const lines = canonicalDump(s).split('\n');
  assert.equal(lines[0], 'svc 10.96.0.3:80/TCP EXTERNAL slot=0 id=1 count=1 flags=CLUSTER_IP affinity=0s  # default/a:http');
  assert.equal(lines[1], 'svc 10.96.0.3:80/TCP EXTERNAL slot=1 backend=1');
  assert.equal(lines[2], 'backend 1 10.244.1.1:8080/TCP ACTIVE svc=1');
});

test('owners: false leaves out what the maps cannot know', () => {
  assert.ok(!canonicalDump(state(), { owners: false }).includes('#'));
});

test('flags print by name; unknown bits in hex; none as -', () => {
  assert.equal(formatFlags(SVC_FLAGS.NODE_PORT | SVC_FLAGS.ETP_LOCAL), 'NODE_PORT|ETP_LOCAL');
  assert.equal(formatFlags(0), '-');
  assert.equal(formatFlags(SVC_FLAGS.CLUSTER_IP | 0x4000), 'CLUSTER_IP|0x4000');
});
