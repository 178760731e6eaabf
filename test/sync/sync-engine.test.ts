// The sync engine against the real pinned maps of the committed object. A full sync keeps
// the outcome of every Service whose inputs did not change; these tests check that what it
// then holds and programs is still exactly what modelling everything again gives, after
// the changes a periodic full resync must pick up: slice changes, this node's zone (E3),
// frontend clashes settled by key order, entries the maps lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { Datapath } from '../../src/datapath/datapath.js';
import { encodeSvcKey } from '../../src/datapath/abi.js';
import { desiredState } from '../../src/encoder/desired-state.js';
import { IdAllocator } from '../../src/encoder/id-allocator.js';
import type { EncodedState } from '../../src/encoder/types.js';
import type { ModelOptions } from '../../src/model/types.js';
import { Reconciler } from '../../src/reconciler/reconciler.js';
import { readProgrammed } from '../../src/reconciler/read-programmed.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import { ChangeTracker } from '../../src/tracker/change-tracker.js';
import type { Logger } from '../../src/log.js';

const PIN = `/sys/fs/bpf/kpxsync-test-${process.pid}`;
const OPTS: ModelOptions = { nodeName: 'node-a', family: 'IPv4' };
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} } as unknown as Logger;

function node(zone: string): V1Node {
  return {
    metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': zone } },
    status: { addresses: [{ type: 'InternalIP', address: '192.168.50.10' }] },
  };
}

function service(name: string, clusterIP: string, externalIPs?: string[]): V1Service {
  return {
    metadata: { name, namespace: 'default' },
    spec: { type: 'ClusterIP', clusterIP, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }], ...(externalIPs ? { externalIPs } : {}) },
  };
}

/** One slice; each endpoint `[address, zone hint]`, ready, on node-b. */
function slice(svc: string, endpoints: Array<[string, string | undefined]>, name = `${svc}-abc`): V1EndpointSlice {
  return {
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: endpoints.map(([addr, hint]) => ({
      addresses: [addr],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'node-b',
      ...(hint ? { hints: { forZones: [{ name: hint }] } } : {}),
    })),
  };
}

/** The state without ids (they depend on history): per frontend identity its owner, flags
 *  and the backends its slots name, in slot order, plus every backend it owns. */
function view(state: EncodedState, owners = true): string[] {
  const out: string[] = [];
  for (const [id, f] of state) {
    const be = (b: number): string => {
      const x = f.backends.get(b);
      return x ? `${x.addr}:${x.port}/${x.state}` : `missing ${b}`;
    };
    const owned = [...f.backends.keys()].map(be).sort();
    out.push(`${id}${owners ? ` ${f.owner}` : ''} flags=${f.value.flags} count=${f.value.count} slots=[${f.slots.map(be).join(' ')}] owns=[${owned.join(' ')}] ranges=${f.sourceRanges?.join(',') ?? '-'}`);
  }
  return out.sort();
}

/** What modelling every Service again from scratch gives. */
function fromScratch(tracker: ChangeTracker): string[] {
  const snap = tracker.snapshot();
  return view(desiredState(snap.services.values(), snap.node, OPTS, new IdAllocator()).state);
}

function setup(name: string): { dp: Datapath; tracker: ChangeTracker; rec: Reconciler; engine: SyncEngine; done: () => void } {
  const pin = `${PIN}-${name}`;
  rmSync(pin, { recursive: true, force: true });
  const dp = Datapath.load({ pinDir: pin });
  const tracker = new ChangeTracker();
  const rec = new Reconciler(dp.maps);
  const engine = new SyncEngine(tracker, rec, new IdAllocator(), OPTS, quiet);
  engine.adopt();
  return {
    dp,
    tracker,
    rec,
    engine,
    done: () => {
      dp.close();
      rmSync(pin, { recursive: true, force: true });
    },
  };
}

/** The maps hold exactly the engine's desired state (owners are not in the maps). */
function assertProgrammed(dp: Datapath, engine: SyncEngine): void {
  const st = readProgrammed(dp.maps.services, dp.maps.backends, dp.maps.srcRanges);
  assert.deepEqual(view(st.frontends, false), view(engine.desiredState(), false));
  assert.equal(st.orphanBackends.length + st.orphanSlots.length, 0);
}

test('a full resync with nothing changed keeps every frontend object and writes nothing', () => {
  const { tracker, engine, dp, done } = setup('same');
  try {
    tracker.node(node('zone-a'));
    for (let i = 0; i < 20; i++) {
      tracker.service(undefined, service(`s${i}`, `10.96.1.${i + 1}`));
      tracker.endpointSlice(undefined, slice(`s${i}`, [[`10.244.1.${i + 1}`, undefined], [`10.244.2.${i + 1}`, undefined]]));
    }
    tracker.synced();
    const first = engine.sync(true)!;
    assert.equal(first.errors.length, 0);
    const before = new Map(engine.desiredState());
    const r = engine.sync(true)!;
    assert.equal(r.writes, 0);
    assert.equal(r.services, 20);
    for (const [id, f] of engine.desiredState()) assert.equal(f, before.get(id), `${id} kept as the same object`);
    assert.deepEqual(view(engine.desiredState()), fromScratch(tracker));
    assertProgrammed(dp, engine);
  } finally {
    done();
  }
});

test('a full resync picks up a slice change, a new and a deleted Service (E1)', () => {
  const { tracker, engine, dp, done } = setup('changes');
  try {
    tracker.node(node('zone-a'));
    for (const n of ['a', 'b', 'c']) {
      tracker.service(undefined, service(n, `10.96.2.${n.charCodeAt(0) - 96}`));
      tracker.endpointSlice(undefined, slice(n, [[`10.244.3.${n.charCodeAt(0) - 96}`, undefined]]));
    }
    tracker.synced();
    engine.sync(true);
    const kept = engine.desiredState().get('10.96.2.3:80/6/0');
    // Changes that arrive between syncs are taken by the next one, full or not.
    tracker.endpointSlice(slice('a', [['10.244.3.1', undefined]]), slice('a', [['10.244.3.1', undefined], ['10.244.3.9', undefined]]));
    tracker.service(service('b', '10.96.2.2'), undefined);
    tracker.service(undefined, service('d', '10.96.2.4'));
    const r = engine.sync(true)!;
    assert.ok(r.writes > 0);
    assert.deepEqual(view(engine.desiredState()), fromScratch(tracker));
    assert.equal(engine.desiredState().get('10.96.2.3:80/6/0'), kept, 'unchanged Service c kept');
    assert.ok(view(engine.desiredState()).some((l) => l.includes('10.244.3.9:8080')));
    assertProgrammed(dp, engine);
  } finally {
    done();
  }
});

test("a full resync re-evaluates topology hints when this node's zone changes (E3)", () => {
  const { tracker, engine, dp, done } = setup('zone');
  try {
    tracker.node(node('zone-a'));
    tracker.service(undefined, service('web', '10.96.3.1'));
    tracker.endpointSlice(undefined, slice('web', [['10.244.4.1', 'zone-a'], ['10.244.4.2', 'zone-b']]));
    tracker.synced();
    engine.sync(true);
    const inZoneA = view(engine.desiredState());
    assert.ok(inZoneA.some((l) => l.includes('slots=[10.244.4.1:8080/')) && !inZoneA.some((l) => l.includes('slots=[10.244.4.2')));
    tracker.node(node('zone-b'));
    engine.sync(true);
    const inZoneB = view(engine.desiredState());
    assert.ok(inZoneB.some((l) => l.includes('slots=[10.244.4.2:8080/')), inZoneB.join('\n'));
    assert.deepEqual(inZoneB, fromScratch(tracker));
    assertProgrammed(dp, engine);
  } finally {
    done();
  }
});

test('a full resync settles a frontend clash by key order, as a restart would', () => {
  const { tracker, engine, dp, done } = setup('clash');
  try {
    tracker.node(node('zone-a'));
    tracker.service(undefined, service('zz', '10.96.4.2', ['192.0.2.7']));
    tracker.endpointSlice(undefined, slice('zz', [['10.244.5.2', undefined]]));
    tracker.service(undefined, service('mm', '10.96.4.3'));
    tracker.endpointSlice(undefined, slice('mm', [['10.244.5.3', undefined]]));
    tracker.synced();
    engine.sync(true);
    // Service "aa" (first by key) arrives later with the same external IP: a partial sync
    // cannot take the frontend from "zz", which holds it...
    tracker.service(undefined, service('aa', '10.96.4.1', ['192.0.2.7']));
    tracker.endpointSlice(undefined, slice('aa', [['10.244.5.1', undefined]]));
    const partial = engine.sync(false)!;
    assert.equal(partial.errors.length, 1);
    assert.equal(engine.desiredState().get('192.0.2.7:80/6/0')?.owner, 'default/zz:http');
    // ...a full one gives it to "aa", as modelling everything again does.
    const full = engine.sync(true)!;
    assert.equal(full.errors.length, 1);
    assert.match(full.errors[0]!.message, /default\/aa/);
    assert.equal(engine.desiredState().get('192.0.2.7:80/6/0')?.owner, 'default/aa:http');
    assert.deepEqual(view(engine.desiredState()), fromScratch(tracker));
    assertProgrammed(dp, engine);
    // The clash is reported by every full sync, and nothing moves.
    const again = engine.sync(true)!;
    assert.equal(again.errors.length, 1);
    assert.equal(again.writes, 0);
    assert.equal(engine.desiredState().get('192.0.2.7:80/6/0')?.owner, 'default/aa:http');
  } finally {
    done();
  }
});

test('after the reconciler re-reads the maps, a full resync that keeps every outcome rewrites what the maps lost', () => {
  const { tracker, engine, rec, dp, done } = setup('lost');
  try {
    tracker.node(node('zone-a'));
    tracker.service(undefined, service('web', '10.96.5.1'));
    tracker.endpointSlice(undefined, slice('web', [['10.244.6.1', undefined], ['10.244.6.2', undefined]]));
    tracker.synced();
    engine.sync(true);
    const f = engine.desiredState().get('10.96.5.1:80/6/0')!;
    // A slot lost behind the agent's back; the reconciler re-reads the maps (as it does
    // after any failed write), so what it believes programmed is the truth again.
    dp.maps.services.deleteBatch([encodeSvcKey({ ...f.key, slot: 2 })]);
    rec.adopt();
    const r = engine.sync(true)!;
    assert.equal(r.writes, 1);
    assert.equal(engine.desiredState().get('10.96.5.1:80/6/0'), f, 'outcome kept');
    assertProgrammed(dp, engine);
  } finally {
    done();
  }
});

test('a Service with a warning is modelled again by every full sync, which reports it each time', () => {
  const { tracker, engine, done } = setup('warn');
  try {
    tracker.node(node('zone-a'));
    tracker.service(undefined, service('odd', '10.96.6.1'));
    tracker.endpointSlice(undefined, slice('odd', [['10.244.7.1', undefined], ['not-an-ip', undefined]]));
    tracker.synced();
    const first = engine.sync(true)!;
    assert.equal(first.errors.length, 1);
    assert.match(first.errors[0]!.message, /not an IP address/);
    const second = engine.sync(true)!;
    assert.equal(second.errors.length, 1);
    assert.equal(second.writes, 0);
    assert.deepEqual(view(engine.desiredState()), fromScratch(tracker));
  } finally {
    done();
  }
});
