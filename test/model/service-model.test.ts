import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { BadFlagError, BadObjectError } from '../../src/errors.js';
import { checkModelOptions, modelServices } from '../../src/model/model-services.js';
import { modelService, SCTP_UNSUPPORTED } from '../../src/model/service-model.js';
import type { ServiceModel, ServiceOutcome } from '../../src/model/types.js';
import { ep, NODE, OPTS, slice, svc } from './fixtures.js';

function ok(o: ServiceOutcome): ServiceModel {
  assert.equal(o.status, 'ok', JSON.stringify(o));
  return (o as Extract<ServiceOutcome, { status: 'ok' }>).model;
}

function errorsOf(o: ServiceOutcome): BadObjectError[] {
  assert.equal(o.status, 'bad', JSON.stringify(o));
  return [...(o as Extract<ServiceOutcome, { status: 'bad' }>).errors];
}

test('P1: a bad port makes its Service bad and reported; the other Services are still modelled', () => {
  const outcomes = modelServices(
    [
      { key: 'default/bad', service: svc('bad', { clusterIP: '10.96.0.2', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 70000 }] }), slices: [] },
      { key: 'default/good', service: svc('good', {}), slices: [slice('good', 'good-1', [ep('10.244.1.1')])] },
    ],
    NODE,
    OPTS,
  );
  const [bad, good] = outcomes;
  const errs = errorsOf(bad!);
  assert.equal(errs.length, 1);
  assert.ok(errs[0] instanceof BadObjectError);
  assert.equal(errs[0]!.where, 'Service default/bad');
  assert.equal(errs[0]!.field, 'spec.ports[1].port');
  assert.equal(ok(good!).frontends.length, 1);
});

test('P1/P3: protocol, duplicate, name and targetPort problems name their field', () => {
  const cases: Array<[Parameters<typeof svc>[1], string]> = [
    [{ ports: [{ name: 'x', port: 80, protocol: 'ICMP' }] }, 'spec.ports[0].protocol'],
    [{ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] }, 'spec.ports[1]'],
    [{ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }, 'spec.ports[1].name'],
    [{ ports: [{ port: 80 }, { port: 81 }] }, 'spec.ports[0].name'],
    [{ ports: [{ name: 'a', port: 80, targetPort: 'Not_A_Name' }] }, 'spec.ports[0].targetPort'],
    [{ ports: [{ name: 'a', port: 80, targetPort: 0.5 }] }, 'spec.ports[0].targetPort'],
    [{ type: 'NodePort', ports: [{ name: 'a', port: 80, nodePort: 99999 }] }, 'spec.ports[0].nodePort'],
    [{ clusterIP: '10.96.0.300' }, 'spec.clusterIP'],
    [{ externalIPs: ['1.2.3'] }, 'spec.externalIPs[0]'],
    [{ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } }, 'spec.sessionAffinityConfig.clientIP.timeoutSeconds'],
    [{ sessionAffinity: 'Sticky' }, 'spec.sessionAffinity'],
  ];
  for (const [spec, field] of cases) {
    const errs = errorsOf(modelService({ key: 'default/s', service: svc('s', spec), slices: [] }, NODE, OPTS));
    assert.ok(errs.some((e) => e.field === field), `${JSON.stringify(spec)}: want ${field}, got ${errs.map((e) => e.field).join(', ')}`);
  }
});

test('slices without a Service come out absent', () => {
  const o = modelService({ key: 'default/gone', service: undefined, slices: [slice('gone', 'g', [ep('10.244.1.1')])] }, NODE, OPTS);
  assert.equal(o.status, 'absent');
});

test('P1: SCTP frontends are modelled but flagged unsupported', () => {
  const m = ok(modelService({ key: 'default/s', service: svc('s', { ports: [{ name: 'sig', port: 5060, protocol: 'SCTP' }] }), slices: [] }, NODE, OPTS));
  assert.equal(m.frontends.length, 1);
  assert.equal(m.frontends[0]!.protocol, 'SCTP');
  assert.equal(m.frontends[0]!.unsupported, SCTP_UNSUPPORTED);
});

test('an address that is both an externalIP and an LB IP is one frontend (the first kind, ExternalIP)', () => {
  const s = svc('s', { type: 'LoadBalancer', externalIPs: ['198.51.100.1'], allocateLoadBalancerNodePorts: false }, { status: { loadBalancer: { ingress: [{ ip: '198.51.100.1' }] } } });
  const m = ok(modelService({ key: 'default/s', service: s, slices: [] }, NODE, OPTS));
  assert.deepEqual(m.frontends.map((f) => `${f.kind} ${f.addr}`), ['ClusterIP 10.96.0.1', 'ExternalIP 198.51.100.1']);
});

test('P4: --nodeport-addresses with only IPv6 CIDRs leaves IPv4 without NodePorts; a malformed CIDR is a BadFlagError', () => {
  const s = svc('s', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] });
  const m = ok(modelService({ key: 'default/s', service: s, slices: [] }, NODE, { ...OPTS, nodePortAddresses: ['fd00::/64'] }));
  assert.deepEqual(m.frontends.map((f) => f.kind), ['ClusterIP']);
  const all = ok(modelService({ key: 'default/s', service: s, slices: [] }, NODE, { ...OPTS, nodePortAddresses: ['primary'] }));
  assert.deepEqual(all.frontends.map((f) => `${f.kind} ${f.addr}:${f.port}`), ['ClusterIP 10.96.0.1:80', 'NodePort 192.168.1.10:30080']);
  assert.throws(() => checkModelOptions({ ...OPTS, nodePortAddresses: ['192.168.1.0/40'] }), BadFlagError);
});

test('P4: without a Node there are no NodePort frontends, the rest is still modelled', () => {
  const s = svc('s', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] });
  const m = ok(modelService({ key: 'default/s', service: s, slices: [] }, undefined, OPTS));
  assert.deepEqual(m.frontends.map((f) => f.kind), ['ClusterIP']);
});

test('P2: a slice port without a number falls back to a numeric targetPort, never to a named one', () => {
  const numeric = svc('s', { ports: [{ name: 'http', port: 80, targetPort: 8081 }] });
  const named = svc('s', { ports: [{ name: 'http', port: 80, targetPort: 'web' }] });
  const sl = slice('s', 's-1', [ep('10.244.1.1')], { ports: [{ name: 'http', protocol: 'TCP' }] });
  const m1 = ok(modelService({ key: 'default/s', service: numeric, slices: [sl] }, NODE, OPTS));
  assert.deepEqual(m1.frontends[0]!.cluster.usable.map((b) => `${b.addr}:${b.port}`), ['10.244.1.1:8081']);
  const m2 = ok(modelService({ key: 'default/s', service: named, slices: [sl] }, NODE, OPTS));
  assert.deepEqual(m2.frontends[0]!.cluster.usable, []);
});

test('E2: an endpoint address that is not an IP is a warning; the others are still backends', () => {
  const o = modelService({ key: 'default/s', service: svc('s', {}), slices: [slice('s', 's-1', [ep('10.244.1.1'), ep('not-an-ip')])] }, NODE, OPTS);
  assert.equal(o.status, 'ok');
  const { model, warnings } = o as Extract<ServiceOutcome, { status: 'ok' }>;
  assert.equal(model.frontends[0]!.cluster.usable.length, 1);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.field, 'endpoints[1].addresses[0]');
});

test('T5: source ranges with only IPv6 entries allow no IPv4 source; ranges stay off non-LB frontends', () => {
  const s = svc('s', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, loadBalancerSourceRanges: ['2001:db8::/32'] }, { status: { loadBalancer: { ingress: [{ ip: '198.51.100.1' }] } } });
  const m = ok(modelService({ key: 'default/s', service: s, slices: [] }, NODE, OPTS));
  assert.deepEqual(m.sourceRanges, []);
  const lb = m.frontends.find((f) => f.kind === 'LoadBalancer')!;
  assert.deepEqual(lb.sourceRanges, []);
  assert.equal(m.frontends.find((f) => f.kind === 'ClusterIP')!.sourceRanges, undefined);
});

test('T6: healthCheckNodePort is kept only for LoadBalancer Services with eTP Local', () => {
  const lb = svc('s', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, allocateLoadBalancerNodePorts: false });
  assert.equal(ok(modelService({ key: 'default/s', service: lb, slices: [] }, NODE, OPTS)).healthCheckNodePort, 32000);
  const cluster = svc('s', { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', healthCheckNodePort: 32000, allocateLoadBalancerNodePorts: false });
  assert.equal(ok(modelService({ key: 'default/s', service: cluster, slices: [] }, NODE, OPTS)).healthCheckNodePort, undefined);
});

test('T1/T3: eTP marks only external frontends, iTP only the ClusterIP frontend', () => {
  const s = svc('s', { type: 'NodePort', externalIPs: ['203.0.113.1'], externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: 30080 }] });
  const m = ok(modelService({ key: 'default/s', service: s, slices: [] }, NODE, OPTS));
  assert.deepEqual(
    m.frontends.map((f) => `${f.kind} etp=${f.etpLocal} itp=${f.itpLocal}`),
    ['ClusterIP etp=false itp=true', 'ExternalIP etp=true itp=false', 'NodePort etp=true itp=false'],
  );
});

test('S2: an unlabelled slice does not count in trial mode; a labelled one does not count in full mode', () => {
  const labels = { 'service.kubernetes.io/service-proxy-name': 'kpx' };
  const s = svc('s', {}, { metadata: { name: 's', labels } });
  const slices = [slice('s', 'a', [ep('10.244.1.1')], { metadata: { labels } }), slice('s', 'b', [ep('10.244.1.2')])];
  const trial = ok(modelService({ key: 'default/s', service: s, slices }, NODE, { ...OPTS, proxyName: 'kpx' }));
  assert.deepEqual(trial.frontends[0]!.cluster.usable.map((b) => b.addr), ['10.244.1.1']);
  const full = modelService({ key: 'default/s', service: s, slices }, NODE, OPTS);
  assert.equal(full.status, 'skipped');
});
