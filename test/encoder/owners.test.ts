import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { desiredState } from '../../src/encoder/desired-state.js';
import { IdAllocator } from '../../src/encoder/id-allocator.js';
import { frontendsOfServices, ownerServiceKey } from '../../src/encoder/owners.js';
import { NODE, OPTS, svc } from '../model/fixtures.js';

test('owner strings map back to Service keys', () => {
  assert.equal(ownerServiceKey('default/web:http'), 'default/web');
  assert.equal(ownerServiceKey('default/web:80'), 'default/web');
  assert.equal(ownerServiceKey('(adopted)'), undefined);
});

test('frontendsOfServices finds every frontend of the named Services in any state given', () => {
  const inputs = [
    { key: 'default/a', service: svc('a', { clusterIP: '10.96.0.2', externalIPs: ['203.0.113.2'] }), slices: [] },
    { key: 'default/b', service: svc('b', { clusterIP: '10.96.0.3' }), slices: [] },
  ];
  const d = desiredState(inputs, NODE, OPTS, new IdAllocator());
  assert.equal(d.outcomes.length, 2);
  assert.deepEqual([...frontendsOfServices(new Set(['default/a']), d.state)].sort(), ['10.96.0.2:80/6/0', '203.0.113.2:80/6/0']);
  assert.equal(frontendsOfServices(new Set(['default/c']), d.state).size, 0);
});
