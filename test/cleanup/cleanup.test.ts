// kpx cleanup on a node namespace (kpxops-*) where kpx left everything it can leave: tc
// filters at ingress and egress of a pod veth, XDP on the external device, a socket-hook
// cgroup link pinned under the pin directory, the maps and owners.json. After one run
// nothing of it is left; interfaces outside the patterns keep their filter; a second run
// removes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfObject, cgroupAttach, cgroupQuery, cgroupV2Root, tcAttach, tcQuery, xdpAttach, xdpQuery } from '../../native/index.js';
import { ownersFilePath } from '../../src/inspect/owners-file.js';
import { HDLS, PREFIX, newPinDir, programLive, removePins, runKpx } from '../inspect/fixture.js';
import { addVeth, createNetns, deleteNetns, inNetns, tcFilters } from './netns.js';

test('cleanup removes kpx filters, XDP, cgroup links, pins and owners.json; a second run finds nothing', (t) => {
  const ns = `${PREFIX}-clean`;
  const pin = newPinDir('clean');
  const cgroup = join(cgroupV2Root(), `${PREFIX}-clean`);
  createNetns(ns);
  mkdirSync(cgroup);
  t.after(() => {
    deleteNetns(ns);
    removePins(pin);
    if (existsSync(cgroup)) rmdirSync(cgroup);
  });
  addVeth(ns, 'kv-pod0', 'pod0-eth'); // pod veth (host side matches kv-*)
  addVeth(ns, 'ext0', 'ext0-peer'); // the node's external device
  addVeth(ns, 'other0', 'other0-peer'); // matches no pattern

  const dp = programLive(pin, [HDLS]);
  try {
    inNetns(ns, () => {
      tcAttach('kv-pod0', dp.programs.fromPod, 'ingress');
      tcAttach('kv-pod0', dp.programs.toPod, 'egress');
      tcAttach('other0', dp.programs.fromPod, 'ingress');
      xdpAttach('ext0', dp.programs.xdpExt, 'generic');
    });
    cgroupAttach(cgroup, dp.programs.sockConnect4, 'connect4', { pinPath: join(pin, 'links', 'connect4') }).close();
  } finally {
    dp.close(); // the hooks hold the programs; the pins hold the maps and the link
  }
  assert.equal(cgroupQuery(cgroup, 'connect4').length, 1);
  assert.ok(existsSync(ownersFilePath(pin)));

  const r = runKpx(['cleanup', '--bpffs-dir', pin, '--pod-interfaces', 'kv-*', '--external-interface', 'ext0'], ns);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const lines = r.stdout.trim().split('\n');
  for (const want of [
    /^removed tc ingress filter on kv-pod0 \(handle 0x6b70 prio 1, program kpx_from_pod\)$/,
    /^removed tc egress filter on kv-pod0 \(handle 0x6b70 prio 1, program kpx_to_pod\)$/,
    /^removed XDP program kpx_xdp_ext on ext0$/,
    /^removed cgroup link .*\/links\/connect4 \(connect4, link id \d+\): detached and unpinned$/,
    /^removed pinned map .*\/kpx_services_v1$/,
    /^removed pinned program .*\/progs\/kpx_from_pod$/,
    /^removed pin directory /,
    /^removed state directory .*\(owners\.json\)$/,
  ]) {
    assert.ok(lines.some((l) => want.test(l)), `${want} in:\n${r.stdout}`);
  }
  assert.equal(lines.some((l) => l.includes('other0')), false, 'other0 matches no pattern');

  inNetns(ns, () => {
    assert.equal(tcQuery('kv-pod0', 'ingress'), undefined);
    assert.equal(tcQuery('kv-pod0', 'egress'), undefined);
    assert.equal(xdpQuery('ext0'), undefined);
    assert.ok(tcQuery('other0', 'ingress'), 'an interface outside the patterns keeps its filter');
  });
  assert.deepEqual(tcFilters(ns, 'kv-pod0', 'ingress'), []);
  assert.deepEqual(tcFilters(ns, 'kv-pod0', 'egress'), []);
  assert.deepEqual(cgroupQuery(cgroup, 'connect4'), [], 'socket hook detached');
  assert.equal(existsSync(pin), false, 'no pin left');
  assert.equal(existsSync(ownersFilePath(pin)), false);

  const again = runKpx(['cleanup', '--bpffs-dir', pin, '--pod-interfaces', 'kv-*', '--external-interface', 'ext0'], ns);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout.trim(), 'nothing to remove');
});

// Two programs that are not kpx's, to put where kpx's would be.
const FOREIGN = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("tc") int other_tc(struct __sk_buff *skb) { return 0; }
SEC("xdp") int other_xdp(struct xdp_md *ctx) { return XDP_PASS; }
`;

test('cleanup leaves programs that are not kpx\'s alone, even at kpx\'s tc handle', (t) => {
  const ns = `${PREFIX}-foreign`;
  const pin = newPinDir('foreign');
  const dir = mkdtempSync(join(tmpdir(), 'kpxops-foreign-'));
  createNetns(ns);
  t.after(() => {
    deleteNetns(ns);
    removePins(pin);
    rmSync(dir, { recursive: true, force: true });
  });
  addVeth(ns, 'kv-foreign', 'foreign-peer');
  addVeth(ns, 'ext1', 'ext1-peer');
  const src = join(dir, 'foreign.bpf.c');
  const objPath = join(dir, 'foreign.bpf.o');
  writeFileSync(src, FOREIGN);
  const multiarch = `/usr/include/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  execFileSync('clang', ['-O2', '-g', '-target', 'bpf', `-I${multiarch}`, '-c', src, '-o', objPath]);
  const obj = BpfObject.open(objPath);
  try {
    obj.load();
    inNetns(ns, () => {
      tcAttach('kv-foreign', obj.program('other_tc'), 'ingress'); // kpx's handle and priority
      xdpAttach('ext1', obj.program('other_xdp'), 'generic');
    });
  } finally {
    obj.close();
  }

  const r = runKpx(['cleanup', '--bpffs-dir', pin, '--pod-interfaces', 'kv-*', '--external-interface', 'ext1'], ns);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^kept tc ingress filter on kv-foreign at kpx's handle runs other_tc, not a kpx program$/m);
  assert.match(r.stdout, /^kept XDP on ext1 runs other_xdp, not a kpx program$/m);
  assert.doesNotMatch(r.stdout, /^removed/m);
  inNetns(ns, () => {
    assert.ok(tcQuery('kv-foreign', 'ingress'));
    assert.ok(xdpQuery('ext1'));
  });
});
